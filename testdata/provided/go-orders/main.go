// An orders API behind API Gateway (REST, proxy integration): GET /orders/{id} answers the
// order with its total in the currency asked for. A Lambda function for provided.al2023 that
// speaks the Lambda Runtime API itself, with the standard library only: `go build -o bootstrap`.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

type proxyRequest struct {
	HTTPMethod            string            `json:"httpMethod"`
	Path                  string            `json:"path"`
	PathParameters        map[string]string `json:"pathParameters"`
	QueryStringParameters map[string]string `json:"queryStringParameters"`
}

type proxyResponse struct {
	StatusCode      int               `json:"statusCode"`
	Headers         map[string]string `json:"headers"`
	Body            string            `json:"body"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
}

type line struct {
	SKU       string `json:"sku"`
	Quantity  uint64 `json:"quantity"`
	unitCents uint64
}

type order struct {
	status string
	lines  []line
}

// The catalogue this demo serves, in US cents.
var orders = map[string]order{
	"42": {"shipped", []line{{"KB-101", 2, 4999}, {"MS-7", 1, 2450}}},
	"7":  {"pending", []line{{"HD-2T", 1, 8900}}},
}

// Exchange rates in thousandths of a unit per US dollar.
var rates = map[string]uint64{"USD": 1000, "EUR": 920, "GBP": 790}

func respond(status int, body interface{}) proxyResponse {
	text, _ := json.Marshal(body)
	return proxyResponse{
		StatusCode: status,
		Headers:    map[string]string{"content-type": "application/json"},
		Body:       string(text),
	}
}

func handle(requestID string, event []byte) (proxyResponse, error) {
	var request proxyRequest
	if err := json.Unmarshal(event, &request); err != nil {
		return proxyResponse{}, fmt.Errorf("the event is not an API Gateway request: %w", err)
	}
	if request.HTTPMethod != "GET" {
		return respond(405, map[string]string{"message": "only GET is allowed"}), nil
	}
	id := request.PathParameters["id"]
	if id == "" {
		id = request.Path[strings.LastIndex(request.Path, "/")+1:]
	}
	currency := request.QueryStringParameters["currency"]
	if currency == "" {
		currency = "USD"
	}
	perDollar, known := rates[currency]
	if !known {
		return respond(400, map[string]string{"message": "unknown currency " + currency}), nil
	}
	found, exists := orders[id]
	if !exists {
		return respond(404, map[string]string{"message": "no order " + id}), nil
	}
	var cents uint64
	for _, item := range found.lines {
		cents += item.Quantity * item.unitCents
	}
	total := cents * perDollar / 1000
	return respond(200, map[string]interface{}{
		"id":        id,
		"status":    found.status,
		"items":     found.lines,
		"total":     fmt.Sprintf("%d.%02d %s", total/100, total%100, currency),
		"requestId": requestID,
	}), nil
}

// The Lambda Runtime API client: https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html
type runtime struct {
	base   string
	client *http.Client
}

func (r runtime) post(path string, errorType string, body []byte) error {
	request, err := http.NewRequest(http.MethodPost, r.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	request.Header.Set("Content-Type", "application/json")
	if errorType != "" {
		request.Header.Set("Lambda-Runtime-Function-Error-Type", errorType)
	}
	response, err := r.client.Do(request)
	if err != nil {
		return err
	}
	defer response.Body.Close()
	io.Copy(io.Discard, response.Body)
	if response.StatusCode != http.StatusAccepted {
		return fmt.Errorf("POST %s: %s", path, response.Status)
	}
	return nil
}

func errorBody(kind string, err error) []byte {
	body, _ := json.Marshal(map[string]interface{}{
		"errorType":    kind,
		"errorMessage": err.Error(),
		"stackTrace":   []string{},
	})
	return body
}

func main() {
	api := os.Getenv("AWS_LAMBDA_RUNTIME_API")
	if api == "" {
		fmt.Fprintln(os.Stderr, "AWS_LAMBDA_RUNTIME_API is not set: run this on Lambda")
		os.Exit(1)
	}
	// No timeout: Lambda may freeze the process between invocations.
	r := runtime{base: "http://" + api + "/2018-06-01/runtime", client: &http.Client{}}
	if currency := os.Getenv("DEFAULT_CURRENCY"); currency != "" {
		if _, known := rates[currency]; !known {
			err := fmt.Errorf("DEFAULT_CURRENCY %q is not one of USD, EUR, GBP", currency)
			r.post("/init/error", "Runtime.InvalidConfiguration", errorBody("InvalidConfiguration", err))
			os.Exit(1)
		}
	}
	for {
		response, err := r.client.Get(r.base + "/invocation/next")
		if err != nil {
			fmt.Fprintln(os.Stderr, "next invocation:", err)
			os.Exit(1)
		}
		event, err := io.ReadAll(response.Body)
		response.Body.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, "reading the event:", err)
			os.Exit(1)
		}
		requestID := response.Header.Get("Lambda-Runtime-Aws-Request-Id")
		os.Setenv("_X_AMZN_TRACE_ID", response.Header.Get("Lambda-Runtime-Trace-Id"))
		if deadline := response.Header.Get("Lambda-Runtime-Deadline-Ms"); deadline == "" {
			fmt.Fprintln(os.Stderr, "no Lambda-Runtime-Deadline-Ms header")
		}
		started := time.Now()
		result, err := handle(requestID, event)
		path := "/invocation/" + requestID
		if err != nil {
			err = r.post(path+"/error", "Unhandled", errorBody("HandlerError", err))
		} else {
			body, _ := json.Marshal(result)
			err = r.post(path+"/response", "", body)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "answering:", err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "handled %s in %s\n", requestID, time.Since(started).Round(time.Millisecond))
	}
}
