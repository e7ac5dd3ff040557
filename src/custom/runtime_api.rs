//! A Lambda Runtime API (version 2018-06-01) for one invocation, served on a loopback port with
//! the standard library only: a bootstrap started with `AWS_LAMBDA_RUNTIME_API=127.0.0.1:PORT`
//! asks `GET /2018-06-01/runtime/invocation/next` for the event and answers with
//! `POST .../invocation/{id}/response` or `.../invocation/{id}/error`, or reports a failed start
//! with `POST .../runtime/init/error`. Paths, headers and status codes as documented in
//! <https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html> (its OpenAPI file,
//! `runtime-api.zip`, gives 202 Accepted for the three POSTs).
//!
//! HTTP/1.1 as runtime clients speak it: keep-alive connections (Go's `net/http` and the Rust
//! `lambda_runtime` crate's hyper client keep one open between `next` and the answer), bodies
//! with `Content-Length` or `Transfer-Encoding: chunked` (a streamed response, with its error
//! trailers), and `Expect: 100-continue`. A `next` after the answer never returns: Lambda
//! freezes the process there, and the caller ends it.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Lambda's limit for a buffered response payload (6 MB); larger is `413`.
pub const RESPONSE_LIMIT: usize = 6 * 1024 * 1024;
/// The limit for a streamed response (`Lambda-Runtime-Function-Response-Mode: streaming`).
pub const STREAMED_RESPONSE_LIMIT: usize = 20 * 1024 * 1024;
/// Request lines and headers together.
const HEADER_LIMIT: usize = 64 * 1024;
const PREFIX: &str = "/2018-06-01/runtime";

/// The one invocation to hand out.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub request_id: String,
    /// The event, as Lambda passes it: bytes, usually JSON.
    pub event: Vec<u8>,
    /// `Lambda-Runtime-Deadline-Ms`: Unix time in milliseconds.
    pub deadline_ms: u64,
    pub function_arn: String,
    pub trace_id: String,
}

impl Invocation {
    /// An invocation of `function_name` with `event`, due within `timeout`.
    pub fn new(function_name: &str, region: &str, event: Vec<u8>, timeout: Duration) -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Invocation {
            request_id: "lamina-smoke-00000000-0000-0000-0000-000000000000".to_string(),
            event,
            deadline_ms: (now + timeout).as_millis() as u64,
            function_arn: format!("arn:aws:lambda:{region}:123456789012:function:{function_name}"),
            trace_id: format!(
                "Root=1-{:08x}-6c616d696e61736d6f6b6530;Parent=6c616d696e613031;Sampled=0",
                now.as_secs() as u32
            ),
        }
    }
}

/// What the bootstrap answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `POST /runtime/invocation/{id}/response`: the function's result.
    Response(Vec<u8>),
    /// `POST /runtime/invocation/{id}/error`, or a streamed response whose trailers carry an
    /// error: `Lambda-Runtime-Function-Error-Type` and the body (`errorMessage`, `errorType`,
    /// `stackTrace` by convention).
    Error {
        error_type: Option<String>,
        body: Vec<u8>,
    },
    /// `POST /runtime/init/error`: the runtime could not start.
    InitError {
        error_type: Option<String>,
        body: Vec<u8>,
    },
}

#[derive(Debug, Default)]
struct State {
    answer: Option<Answer>,
    /// `GET next` calls served (the first hands out the event).
    next_calls: usize,
    /// Every request line seen, in order (`GET /2018-06-01/runtime/invocation/next`).
    requests: Vec<String>,
    /// Connections open now, to shut down when the server stops.
    connections: Vec<TcpStream>,
}

struct Shared {
    invocation: Invocation,
    state: Mutex<State>,
    changed: Condvar,
    stop: AtomicBool,
}

/// A running Runtime API. Dropping it stops serving and closes every connection.
pub struct Server {
    address: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl Server {
    /// Listens on `127.0.0.1` on a free port, serving `invocation` once.
    pub fn start(invocation: Invocation) -> io::Result<Server> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let address = listener.local_addr()?;
        let shared = Arc::new(Shared {
            invocation,
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("lamina-runtime-api".into())
                .spawn(move || accept(listener, shared))?
        };
        Ok(Server {
            address,
            shared,
            acceptor: Some(acceptor),
        })
    }

    /// `127.0.0.1:PORT`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The answer, once there is one.
    pub fn answer(&self) -> Option<Answer> {
        self.lock().answer.clone()
    }

    /// Waits up to `timeout` for the answer.
    pub fn wait(&self, timeout: Duration) -> Option<Answer> {
        let state = self.lock();
        let (state, _) = self
            .shared
            .changed
            .wait_timeout_while(state, timeout, |state| state.answer.is_none())
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        state.answer.clone()
    }

    /// The request lines served so far, in order.
    pub fn requests(&self) -> Vec<String> {
        self.lock().requests.clone()
    }

    /// How many times `next` was asked for (the second one blocks: Lambda's freeze).
    pub fn next_calls(&self) -> usize {
        self.lock().next_calls
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let connections = std::mem::take(&mut self.lock().connections);
        for connection in connections {
            let _ = connection.shutdown(Shutdown::Both);
        }
        self.shared.changed.notify_all();
        // Wakes the acceptor, which then sees `stop`.
        let _ = TcpStream::connect_timeout(&self.address, Duration::from_millis(200));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn accept(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        if let Ok(clone) = stream.try_clone() {
            shared
                .state
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .connections
                .push(clone);
        }
        let shared = Arc::clone(&shared);
        // One thread a connection: a blocked `next` must not hold up an answer sent on
        // another connection. Ended by the server's drop (shutdown makes reads fail).
        let _ = std::thread::Builder::new()
            .name("lamina-runtime-api-connection".into())
            .spawn(move || {
                let _ = serve(stream, &shared);
            });
    }
}

/// One parsed request.
#[derive(Debug)]
struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    trailers: Vec<(String, String)>,
    too_large: bool,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .chain(&self.trailers)
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|value| value.eq_ignore_ascii_case("close"))
    }
}

fn serve(stream: TcpStream, shared: &Shared) -> io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let served = serve_requests(&mut reader, &mut writer, shared);
    // The server keeps a clone of every connection (to end them when it stops): closing
    // takes a shutdown, not a drop.
    let _ = writer.shutdown(Shutdown::Both);
    served
}

fn serve_requests(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
    shared: &Shared,
) -> io::Result<()> {
    while !shared.stop.load(Ordering::SeqCst) {
        let Some(request) = read_request(reader, writer)? else {
            return Ok(());
        };
        let closes = request.closes();
        let keep_going = respond(&request, writer, shared)?;
        if closes || !keep_going {
            return Ok(());
        }
    }
    Ok(())
}

/// Reads a line ending in CRLF (or LF), at most `budget` bytes in all.
fn read_line(reader: &mut impl BufRead, budget: &mut usize) -> io::Result<Option<String>> {
    let mut line = Vec::new();
    let read = reader
        .take(*budget as u64 + 1)
        .read_until(b'\n', &mut line)?;
    if read == 0 {
        return Ok(None);
    }
    if read > *budget {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "request head too large",
        ));
    }
    *budget -= read;
    while line
        .last()
        .is_some_and(|&byte| byte == b'\n' || byte == b'\r')
    {
        line.pop();
    }
    Ok(Some(String::from_utf8_lossy(&line).into_owned()))
}

fn read_headers(
    reader: &mut impl BufRead,
    budget: &mut usize,
) -> io::Result<Vec<(String, String)>> {
    let mut headers = Vec::new();
    loop {
        let Some(line) = read_line(reader, budget)? else {
            return Err(io::ErrorKind::UnexpectedEof.into());
        };
        if line.is_empty() {
            return Ok(headers);
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
}

fn read_request(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
) -> io::Result<Option<Request>> {
    let mut budget = HEADER_LIMIT;
    // Tolerates empty lines between requests (RFC 9112, 2.2).
    let line = loop {
        match read_line(reader, &mut budget)? {
            None => return Ok(None),
            Some(line) if line.is_empty() => continue,
            Some(line) => break line,
        }
    };
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let headers = read_headers(reader, &mut budget)?;
    let mut request = Request {
        method,
        path,
        headers,
        body: Vec::new(),
        trailers: Vec::new(),
        too_large: false,
    };
    let limit = if request
        .header("lambda-runtime-function-response-mode")
        .is_some_and(|mode| mode.eq_ignore_ascii_case("streaming"))
    {
        STREAMED_RESPONSE_LIMIT
    } else {
        RESPONSE_LIMIT
    };
    if request
        .header("expect")
        .is_some_and(|value| value.eq_ignore_ascii_case("100-continue"))
    {
        writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    let chunked = request
        .header("transfer-encoding")
        .is_some_and(|value| value.to_ascii_lowercase().contains("chunked"));
    if chunked {
        loop {
            let mut line_budget = 1024;
            let Some(size_line) = read_line(reader, &mut line_budget)? else {
                return Err(io::ErrorKind::UnexpectedEof.into());
            };
            let size_text = size_line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
            if size == 0 {
                let mut trailer_budget = HEADER_LIMIT;
                request.trailers = read_headers(reader, &mut trailer_budget)?;
                break;
            }
            read_body(reader, size, limit, &mut request)?;
            let mut crlf = [0u8; 2];
            reader.read_exact(&mut crlf)?;
        }
    } else {
        let length = request
            .header("content-length")
            .and_then(|value| value.parse::<usize>().ok())
            .unwrap_or(0);
        read_body(reader, length, limit, &mut request)?;
    }
    Ok(Some(request))
}

/// Appends `size` bytes to the body, keeping at most `limit` (past it the request is marked
/// too large and the rest is read and dropped, so the connection stays usable).
fn read_body(
    reader: &mut impl Read,
    size: usize,
    limit: usize,
    request: &mut Request,
) -> io::Result<()> {
    let keep = size.min(limit.saturating_sub(request.body.len()));
    let start = request.body.len();
    request.body.resize(start + keep, 0);
    reader.read_exact(&mut request.body[start..])?;
    if keep < size {
        request.too_large = true;
        io::copy(&mut reader.take((size - keep) as u64), &mut io::sink())?;
    }
    Ok(())
}

fn write_response(
    writer: &mut TcpStream,
    status: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {status}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    writer.write_all(head.as_bytes())?;
    writer.write_all(body)?;
    writer.flush()
}

fn json_error(writer: &mut TcpStream, status: &str, kind: &str, message: &str) -> io::Result<()> {
    let body = serde_json::json!({ "errorMessage": message, "errorType": kind }).to_string();
    write_response(
        writer,
        status,
        &[("Content-Type", "application/json".into())],
        body.as_bytes(),
    )
}

fn accepted(writer: &mut TcpStream) -> io::Result<()> {
    write_response(
        writer,
        "202 Accepted",
        &[("Content-Type", "application/json".into())],
        br#"{"status":"OK"}"#,
    )
}

/// Answers one request; `false` when the connection should close.
fn respond(request: &Request, writer: &mut TcpStream, shared: &Shared) -> io::Result<bool> {
    let invocation = &shared.invocation;
    let lock = || {
        shared
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    };
    lock()
        .requests
        .push(format!("{} {}", request.method, request.path));
    let path = request.path.split('?').next().unwrap_or_default();
    let Some(route) = path.strip_prefix(PREFIX) else {
        json_error(writer, "404 Not Found", "NotFound", "unknown path")?;
        return Ok(true);
    };
    let error_type = request
        .header("lambda-runtime-function-error-type")
        .map(str::to_string);
    match (request.method.as_str(), route) {
        ("GET", "/invocation/next") => {
            let mut state = lock();
            state.next_calls += 1;
            if state.next_calls > 1 || state.answer.is_some() {
                // Lambda freezes the process here; the caller ends it. Wait for the stop.
                let _state = shared
                    .changed
                    .wait_while(state, |_| !shared.stop.load(Ordering::SeqCst))
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                return Ok(false);
            }
            drop(state);
            write_response(
                writer,
                "200 OK",
                &[
                    ("Content-Type", "application/json".into()),
                    (
                        "Lambda-Runtime-Aws-Request-Id",
                        invocation.request_id.clone(),
                    ),
                    (
                        "Lambda-Runtime-Deadline-Ms",
                        invocation.deadline_ms.to_string(),
                    ),
                    (
                        "Lambda-Runtime-Invoked-Function-Arn",
                        invocation.function_arn.clone(),
                    ),
                    ("Lambda-Runtime-Trace-Id", invocation.trace_id.clone()),
                ],
                &invocation.event,
            )?;
            Ok(true)
        }
        ("POST", "/init/error") => {
            record(
                shared,
                Answer::InitError {
                    error_type,
                    body: request.body.clone(),
                },
            );
            accepted(writer)?;
            Ok(true)
        }
        ("POST", route) if route.starts_with("/invocation/") => {
            let rest = &route["/invocation/".len()..];
            let Some((id, what)) = rest.split_once('/') else {
                json_error(writer, "404 Not Found", "NotFound", "unknown path")?;
                return Ok(true);
            };
            if id != invocation.request_id {
                json_error(
                    writer,
                    "400 Bad Request",
                    "InvalidRequestID",
                    &format!("no invocation with request id {id}"),
                )?;
                return Ok(true);
            }
            if lock().answer.is_some() {
                json_error(
                    writer,
                    "400 Bad Request",
                    "InvalidStateTransition",
                    "this invocation was already answered",
                )?;
                return Ok(true);
            }
            match what {
                "response" if request.too_large => {
                    record(
                        shared,
                        Answer::Error {
                            error_type: Some("Function.ResponseSizeTooLarge".into()),
                            body: serde_json::json!({
                                "errorMessage": "Response payload size exceeded maximum allowed payload size",
                                "errorType": "Function.ResponseSizeTooLarge",
                            })
                            .to_string()
                            .into_bytes(),
                        },
                    );
                    json_error(
                        writer,
                        "413 Payload Too Large",
                        "RequestEntityTooLarge",
                        "response payload too large",
                    )?;
                }
                "response" => {
                    // A streamed response that failed midway says so in its trailers.
                    let answer = match request
                        .trailers
                        .iter()
                        .find(|(name, _)| {
                            name.eq_ignore_ascii_case("lambda-runtime-function-error-type")
                        })
                        .map(|(_, value)| value.clone())
                    {
                        Some(error_type) => Answer::Error {
                            error_type: Some(error_type),
                            body: request
                                .header("lambda-runtime-function-error-body")
                                .map(decode_base64)
                                .unwrap_or_default(),
                        },
                        None => Answer::Response(request.body.clone()),
                    };
                    record(shared, answer);
                    accepted(writer)?;
                }
                "error" => {
                    record(
                        shared,
                        Answer::Error {
                            error_type,
                            body: request.body.clone(),
                        },
                    );
                    accepted(writer)?;
                }
                _ => json_error(writer, "404 Not Found", "NotFound", "unknown path")?,
            }
            Ok(true)
        }
        _ => {
            json_error(
                writer,
                "405 Method Not Allowed",
                "MethodNotAllowed",
                "unknown method for this path",
            )?;
            Ok(true)
        }
    }
}

fn record(shared: &Shared, answer: Answer) {
    let mut state = shared
        .state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if state.answer.is_none() {
        state.answer = Some(answer);
    }
    drop(state);
    shared.changed.notify_all();
}

/// Standard base64 (the `Lambda-Runtime-Function-Error-Body` trailer); bad input gives what
/// decodes before it.
fn decode_base64(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut bits = 0u32;
    let mut count = 0;
    for byte in text.bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => continue,
        };
        bits = (bits << 6) | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(event: &str) -> Server {
        Server::start(Invocation::new(
            "orders",
            "eu-west-1",
            event.as_bytes().to_vec(),
            Duration::from_secs(30),
        ))
        .unwrap()
    }

    /// Sends raw HTTP and reads one response (head and body).
    fn exchange(stream: &mut TcpStream, request: &[u8]) -> (String, String) {
        stream.write_all(request).unwrap();
        read_response(stream)
    }

    fn read_response(stream: &mut TcpStream) -> (String, String) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut head = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                if head.starts_with("HTTP/1.1 100") {
                    head.clear();
                    continue;
                }
                break;
            }
            head.push_str(&line);
        }
        let length = head
            .lines()
            .find_map(|line| line.strip_prefix("Content-Length: "))
            .map_or(0, |value| value.trim().parse().unwrap());
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        (head, String::from_utf8(body).unwrap())
    }

    #[test]
    fn next_hands_out_the_event_with_lambdas_headers() {
        let server = server(r#"{"path":"/orders"}"#);
        let mut stream = TcpStream::connect(server.address()).unwrap();
        let (head, body) = exchange(
            &mut stream,
            b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n",
        );
        assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
        for header in [
            "Lambda-Runtime-Aws-Request-Id: lamina-smoke-",
            "Lambda-Runtime-Deadline-Ms: ",
            "Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:eu-west-1:123456789012:function:orders",
            "Lambda-Runtime-Trace-Id: Root=1-",
            "Content-Type: application/json",
        ] {
            assert!(head.contains(header), "{header} missing in {head}");
        }
        assert_eq!(body, r#"{"path":"/orders"}"#);
        // The same connection answers (keep-alive).
        let id = &server.shared.invocation.request_id;
        let answer = br#"{"statusCode":200}"#;
        let request = format!(
            "POST /2018-06-01/runtime/invocation/{id}/response HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            answer.len()
        );
        let mut bytes = request.into_bytes();
        bytes.extend_from_slice(answer);
        let (head, body) = exchange(&mut stream, &bytes);
        assert!(head.starts_with("HTTP/1.1 202 Accepted"), "{head}");
        assert_eq!(body, r#"{"status":"OK"}"#);
        assert_eq!(
            server.wait(Duration::from_secs(5)),
            Some(Answer::Response(answer.to_vec()))
        );
    }

    #[test]
    fn chunked_bodies_and_expect_continue_are_read() {
        let server = server("{}");
        let id = server.shared.invocation.request_id.clone();
        let mut stream = TcpStream::connect(server.address()).unwrap();
        let request = format!(
            "POST /2018-06-01/runtime/invocation/{id}/response HTTP/1.1\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n"
        );
        let (head, _) = exchange(&mut stream, request.as_bytes());
        assert!(head.starts_with("HTTP/1.1 202"), "{head}");
        assert_eq!(
            server.answer(),
            Some(Answer::Response(b"hello, world".to_vec()))
        );
    }

    #[test]
    fn a_streamed_error_in_trailers_is_an_error() {
        let server = server("{}");
        let id = server.shared.invocation.request_id.clone();
        let mut stream = TcpStream::connect(server.address()).unwrap();
        // base64 of {"errorMessage":"boom"}
        let request = format!(
            "POST /2018-06-01/runtime/invocation/{id}/response HTTP/1.1\r\nLambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\nTrailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n\r\n2\r\nhi\r\n0\r\nLambda-Runtime-Function-Error-Type: Runtime.Boom\r\nLambda-Runtime-Function-Error-Body: eyJlcnJvck1lc3NhZ2UiOiJib29tIn0=\r\n\r\n"
        );
        let (head, _) = exchange(&mut stream, request.as_bytes());
        assert!(head.starts_with("HTTP/1.1 202"), "{head}");
        assert_eq!(
            server.answer(),
            Some(Answer::Error {
                error_type: Some("Runtime.Boom".into()),
                body: br#"{"errorMessage":"boom"}"#.to_vec(),
            })
        );
    }

    #[test]
    fn errors_init_errors_and_wrong_ids_are_told_apart() {
        let server = server("{}");
        let id = server.shared.invocation.request_id.clone();
        let mut stream = TcpStream::connect(server.address()).unwrap();
        let (head, body) = exchange(
            &mut stream,
            b"POST /2018-06-01/runtime/invocation/nope/response HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
        );
        assert!(head.starts_with("HTTP/1.1 400"), "{head}");
        assert!(body.contains("InvalidRequestID"));
        let error = br#"{"errorMessage":"bad","errorType":"ValueError"}"#;
        let request = format!(
            "POST /2018-06-01/runtime/invocation/{id}/error HTTP/1.1\r\nLambda-Runtime-Function-Error-Type: Unhandled\r\nContent-Length: {}\r\n\r\n",
            error.len()
        );
        let mut bytes = request.into_bytes();
        bytes.extend_from_slice(error);
        let (head, _) = exchange(&mut stream, &bytes);
        assert!(head.starts_with("HTTP/1.1 202"), "{head}");
        assert_eq!(
            server.answer(),
            Some(Answer::Error {
                error_type: Some("Unhandled".into()),
                body: error.to_vec()
            })
        );
        // A second answer is refused; the first stands.
        let (head, _) = exchange(
            &mut stream,
            format!(
                "POST /2018-06-01/runtime/invocation/{id}/response HTTP/1.1\r\nContent-Length: 2\r\n\r\n{{}}"
            )
            .as_bytes(),
        );
        assert!(head.starts_with("HTTP/1.1 400"), "{head}");

        let init = Server::start(Invocation::new(
            "f",
            "us-east-1",
            Vec::new(),
            Duration::from_secs(1),
        ))
        .unwrap();
        let mut stream = TcpStream::connect(init.address()).unwrap();
        let (head, _) = exchange(
            &mut stream,
            b"POST /2018-06-01/runtime/init/error HTTP/1.1\r\nLambda-Runtime-Function-Error-Type: Runtime.NoConfig\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
        );
        assert!(head.starts_with("HTTP/1.1 202"), "{head}");
        assert_eq!(
            init.answer(),
            Some(Answer::InitError {
                error_type: Some("Runtime.NoConfig".into()),
                body: b"{}".to_vec()
            })
        );
    }

    #[test]
    fn a_second_next_blocks_until_the_server_stops() {
        let server = server("{}");
        let address = server.address();
        let mut first = TcpStream::connect(address).unwrap();
        exchange(
            &mut first,
            b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n\r\n",
        );
        let mut second = TcpStream::connect(address).unwrap();
        second
            .write_all(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n\r\n")
            .unwrap();
        second
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut buffer = [0u8; 16];
        let blocked = second.read(&mut buffer);
        assert!(blocked.is_err(), "the second next answered: {blocked:?}");
        assert_eq!(server.next_calls(), 2);
        drop(server);
        second
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        // Closed without an answer once the server stops.
        assert!(matches!(second.read(&mut buffer), Ok(0) | Err(_)));
    }

    #[test]
    fn oversized_responses_are_refused_with_413() {
        let server = server("{}");
        let id = server.shared.invocation.request_id.clone();
        let mut stream = TcpStream::connect(server.address()).unwrap();
        let size = RESPONSE_LIMIT + 10;
        let mut bytes = format!(
            "POST /2018-06-01/runtime/invocation/{id}/response HTTP/1.1\r\nContent-Length: {size}\r\n\r\n"
        )
        .into_bytes();
        bytes.resize(bytes.len() + size, b'x');
        let (head, _) = exchange(&mut stream, &bytes);
        assert!(head.starts_with("HTTP/1.1 413"), "{head}");
        assert!(matches!(
            server.answer(),
            Some(Answer::Error { error_type: Some(kind), .. }) if kind == "Function.ResponseSizeTooLarge"
        ));
    }

    #[test]
    fn base64_decodes() {
        assert_eq!(decode_base64("aGVsbG8="), b"hello");
        assert_eq!(decode_base64("aGk"), b"hi");
    }
}
