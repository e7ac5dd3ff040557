//! An orders API behind API Gateway (REST, proxy integration): `GET /orders/{id}` answers the
//! order with its total in the currency asked for. A Lambda custom runtime function built with
//! the `lambda_runtime` crate; `bootstrap` is the binary's name, as provided.al2023 wants it.

use std::collections::BTreeMap;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProxyRequest {
    http_method: String,
    path: String,
    #[serde(default)]
    path_parameters: Option<BTreeMap<String, String>>,
    #[serde(default)]
    query_string_parameters: Option<BTreeMap<String, String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProxyResponse {
    status_code: u16,
    headers: BTreeMap<String, String>,
    body: String,
    is_base64_encoded: bool,
}

struct Line {
    sku: &'static str,
    quantity: u32,
    unit_cents: u64,
}

/// The catalogue this demo serves, in US cents.
fn order(id: &str) -> Option<(&'static str, Vec<Line>)> {
    match id {
        "42" => Some((
            "shipped",
            vec![
                Line {
                    sku: "KB-101",
                    quantity: 2,
                    unit_cents: 4_999,
                },
                Line {
                    sku: "MS-7",
                    quantity: 1,
                    unit_cents: 2_450,
                },
            ],
        )),
        "7" => Some((
            "pending",
            vec![Line {
                sku: "HD-2T",
                quantity: 1,
                unit_cents: 8_900,
            }],
        )),
        _ => None,
    }
}

/// Exchange rates in thousandths of a unit per US dollar.
fn rate(currency: &str) -> Option<u64> {
    match currency {
        "USD" => Some(1_000),
        "EUR" => Some(920),
        "GBP" => Some(790),
        _ => None,
    }
}

fn respond(status_code: u16, body: Value) -> ProxyResponse {
    let mut headers = BTreeMap::new();
    headers.insert("content-type".to_string(), "application/json".to_string());
    ProxyResponse {
        status_code,
        headers,
        body: body.to_string(),
        is_base64_encoded: false,
    }
}

async fn handle(event: LambdaEvent<ProxyRequest>) -> Result<ProxyResponse, Error> {
    let (request, context) = event.into_parts();
    if request.http_method != "GET" {
        return Ok(respond(405, json!({ "message": "only GET is allowed" })));
    }
    let id = request
        .path_parameters
        .as_ref()
        .and_then(|parameters| parameters.get("id"))
        .cloned()
        .or_else(|| request.path.rsplit('/').next().map(str::to_string))
        .unwrap_or_default();
    let currency = request
        .query_string_parameters
        .as_ref()
        .and_then(|parameters| parameters.get("currency"))
        .map(String::as_str)
        .unwrap_or("USD");
    let Some(per_dollar) = rate(currency) else {
        return Ok(respond(
            400,
            json!({ "message": format!("unknown currency {currency}") }),
        ));
    };
    let Some((status, lines)) = order(&id) else {
        return Ok(respond(404, json!({ "message": format!("no order {id}") })));
    };
    let cents: u64 = lines
        .iter()
        .map(|line| u64::from(line.quantity) * line.unit_cents)
        .sum();
    let total = cents * per_dollar / 1_000;
    let items: Vec<Value> = lines
        .iter()
        .map(|line| json!({ "sku": line.sku, "quantity": line.quantity }))
        .collect();
    Ok(respond(
        200,
        json!({
            "id": id,
            "status": status,
            "items": items,
            "total": format!("{}.{:02} {currency}", total / 100, total % 100),
            "requestId": context.request_id,
        }),
    ))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handle)).await
}
