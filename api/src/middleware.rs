//! Cross-cutting HTTP behaviour, applied once to every route:
//! `X-Request-Id`, a tracing span per request, Prometheus metrics, and problem+json for every
//! error, including the ones actix answers by itself (404, 405, 413…).

use std::sync::Arc;
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ResourceDef, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::Data;
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use tracing::Instrument;

use domain::ErrorCode;

use crate::error::{Problem, PROBLEM_JSON};
use crate::server::Contract;
use crate::state::AppState;

pub const REQUEST_ID: &str = "x-request-id";

/// The id of the current request: the client's `X-Request-Id` if it is sane, else a new one.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn request_id_of(req: &ServiceRequest) -> String {
    req.headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 128
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| format!("req_{}", ulid::Ulid::new().to_string().to_ascii_lowercase()))
}

/// The route pattern a request matched (`/v1/portal/invoices/{id}`), or `unmatched`.
#[derive(Clone)]
struct MatchedRoute(String);

/// The route pattern `req` matched, as [`observe`] found it (found again if it did not run).
pub fn route_of(req: &actix_web::HttpRequest) -> String {
    match req.extensions().get::<MatchedRoute>() {
        Some(MatchedRoute(route)) => route.clone(),
        None => req.match_pattern().unwrap_or_else(|| req.path().to_owned()),
    }
}

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let request_id = request_id_of(&req);
    req.extensions_mut().insert(RequestId(request_id.clone()));
    // Found once: the metrics, the log line and the audit of portal previews name it.
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    req.extensions_mut().insert(MatchedRoute(route.clone()));
    let metrics = req.app_data::<Data<AppState>>().map(|s| s.metrics.clone());
    let span = tracing::info_span!("request", request_id = %request_id, method = %req.method(), path = %req.path());
    if crate::traces::enabled() {
        use tracing_opentelemetry::OpenTelemetrySpanExt;
        // A caller's `traceparent` makes this request part of its trace.
        let _ = span.set_parent(crate::traces::caller_context(req.headers()));
    }
    let started = Instant::now();
    // Handlers' and extractors' errors arrive here as responses; an `Err` would only come from
    // a failing inner middleware, of which there are none.
    let res = if let Some(refusal) = oversized(&req) {
        req.into_response(refusal.response())
    } else if has_nul(req.path()) {
        // No route has NUL in its path; stopping here keeps it out of every lookup (PostgreSQL
        // cannot compare text with NUL, SQLite would).
        req.into_response(generic_problem(StatusCode::NOT_FOUND).response())
    } else {
        next.call(req)
            .instrument(span.clone())
            .await?
            .map_into_boxed_body()
    };
    let mut res = problem_for_every_error(res, &request_id);
    res.headers_mut().insert(
        HeaderName::from_static(REQUEST_ID),
        HeaderValue::from_str(&request_id).expect("sanitised id"),
    );

    let status = res.status();
    let elapsed = started.elapsed();
    if let Some(m) = metrics {
        m.observe(
            res.request().method().as_str(),
            &route,
            status.as_u16(),
            elapsed.as_secs_f64(),
        );
    }
    span.in_scope(|| tracing::info!(status = status.as_u16(), latency_ms = elapsed.as_secs_f64() * 1e3, route = %route, "handled"));
    Ok(res)
}

/// Longest accepted request target (path and query), in bytes.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Largest accepted header value, and all headers together, in bytes.
pub const MAX_HEADER_BYTES: usize = 8 * 1024;
pub const MAX_HEADERS_BYTES: usize = 32 * 1024;

/// 414 / 431 as problem+json for request heads larger than the API takes. (Heads past the HTTP
/// layer's own buffer, 128 KiB, or with more than 96 headers are cut off there with a bare
/// 431: they never reach the application.)
fn oversized(req: &ServiceRequest) -> Option<Problem> {
    let uri = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if uri > MAX_URI_BYTES {
        return Some(Problem::new(
            ErrorCode::UriTooLong,
            format!("The request path and query exceed {MAX_URI_BYTES} bytes."),
        ));
    }
    let sizes = req
        .headers()
        .iter()
        .map(|(name, value)| (name.as_str().len(), value.len()));
    let (mut total, mut largest) = (0, 0);
    for (name, value) in sizes {
        total += name + value;
        largest = largest.max(value);
    }
    (largest > MAX_HEADER_BYTES || total > MAX_HEADERS_BYTES).then(|| {
        Problem::new(
            ErrorCode::HeadersTooLarge,
            format!(
                "A header exceeds {MAX_HEADER_BYTES} bytes or all headers exceed {MAX_HEADERS_BYTES}."
            ),
        )
    })
}

/// Whether a (percent-encoded) path decodes to text holding NUL.
fn has_nul(path: &str) -> bool {
    path.contains("%00")
}

/// Errors that are not already problem+json (actix's own 404/405/413/…) get a problem body;
/// 5xx bodies are always replaced so nothing internal leaks, and carry the request id.
fn problem_for_every_error(
    res: ServiceResponse<BoxBody>,
    request_id: &str,
) -> ServiceResponse<BoxBody> {
    let status = res.status();
    if !status.is_client_error() && !status.is_server_error() {
        return res;
    }
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|ct| ct.as_bytes() == PROBLEM_JSON.as_bytes());
    if is_problem && !status.is_server_error() {
        return res;
    }
    let problem = if status.is_server_error() {
        let code = if status == StatusCode::SERVICE_UNAVAILABLE {
            ErrorCode::Unavailable
        } else {
            ErrorCode::InternalError
        };
        let mut p = Problem::new(
            code,
            "The server failed to handle the request; retry, and quote request_id if it persists.",
        );
        p.request_id = Some(request_id.to_owned());
        p.answered_as(status)
    } else {
        generic_problem(status)
    };
    let body = serde_json::to_string(&problem).expect("problem serialises");
    res.map_body(|head, _| {
        head.headers
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        head.headers.remove(header::CONTENT_LENGTH);
        BoxBody::new(body)
    })
}

fn generic_problem(status: StatusCode) -> Problem {
    let (code, detail) = match status {
        StatusCode::NOT_FOUND => (ErrorCode::RouteNotFound, "No route matches this path."),
        StatusCode::METHOD_NOT_ALLOWED => (
            ErrorCode::MethodNotAllowed,
            "This route does not accept this method.",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => {
            (ErrorCode::PayloadTooLarge, "The request body is too large.")
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            (ErrorCode::UnsupportedMediaType, "Send the body as JSON.")
        }
        _ => (ErrorCode::BadRequest, "The request could not be handled."),
    };
    Problem::new(code, detail).answered_as(status)
}

/// Every documented route and its methods, built from the OpenAPI document, to tell an unknown
/// path (404) from a known path with the wrong method (405 with `Allow`).
#[derive(Clone)]
pub struct RouteTable(Arc<Vec<(ResourceDef, Vec<Method>)>>);

impl RouteTable {
    pub fn from_spec(spec: &utoipa::openapi::OpenApi) -> Self {
        let mut table = Vec::new();
        for (path, item) in &spec.paths.paths {
            let methods = [
                (Method::GET, item.get.is_some()),
                (Method::POST, item.post.is_some()),
                (Method::PUT, item.put.is_some()),
                (Method::PATCH, item.patch.is_some()),
                (Method::DELETE, item.delete.is_some()),
            ]
            .into_iter()
            .filter_map(|(m, present)| present.then_some(m))
            .collect();
            table.push((ResourceDef::new(path.as_str()), methods));
        }
        Self(Arc::new(table))
    }

    fn allowed(&self, path: &str) -> Option<Vec<Method>> {
        let mut allowed: Vec<Method> = self
            .0
            .iter()
            .filter(|(def, _)| def.is_match(path))
            .flat_map(|(_, m)| m.iter().cloned())
            .collect();
        allowed.dedup();
        (!allowed.is_empty()).then_some(allowed)
    }
}

/// The default service: 405 for a known path, 404 otherwise.
pub async fn fallback(req: HttpRequest, contract: Data<Contract>) -> HttpResponse {
    let Ok((_, table)) = contract.get().await else {
        return generic_problem(StatusCode::INTERNAL_SERVER_ERROR).response();
    };
    match table.allowed(req.path()) {
        Some(methods) if !methods.contains(req.method()) => {
            let allow = methods
                .iter()
                .map(Method::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            let mut res = generic_problem(StatusCode::METHOD_NOT_ALLOWED).response();
            res.headers_mut().insert(
                header::ALLOW,
                HeaderValue::from_str(&allow).expect("method names are ASCII"),
            );
            res
        }
        _ => generic_problem(StatusCode::NOT_FOUND).response(),
    }
}
