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
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};
use tracing::Instrument;

use crate::error::{Problem, PROBLEM_JSON};
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

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let request_id = request_id_of(&req);
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let metrics = req.app_data::<Data<AppState>>().map(|s| s.metrics.clone());
    let span = tracing::info_span!("request", request_id = %request_id, method = %req.method(), path = %req.path());
    let started = Instant::now();
    // Handlers' and extractors' errors arrive here as responses; an `Err` would only come from
    // a failing inner middleware, of which there are none.
    let res = next
        .call(req)
        .instrument(span.clone())
        .await?
        .map_into_boxed_body();
    let mut res = problem_for_every_error(res, &request_id);
    res.headers_mut().insert(
        HeaderName::from_static(REQUEST_ID),
        HeaderValue::from_str(&request_id).expect("sanitised id"),
    );

    let status = res.status();
    let elapsed = started.elapsed();
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
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
    let mut problem = if status.is_server_error() {
        let mut p = Problem::new(
            status,
            "internal_error",
            "The server failed to handle the request; retry, and quote request_id if it persists.",
        );
        p.request_id = Some(request_id.to_owned());
        p
    } else {
        generic_problem(status)
    };
    if status == StatusCode::SERVICE_UNAVAILABLE {
        problem.code = "unavailable".into();
        problem.type_ = "urn:portal-api:problem:unavailable".into();
    }
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
        StatusCode::NOT_FOUND => ("route_not_found", "No route matches this path."),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "This route does not accept this method.",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "The request body is too large."),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", "Send the body as JSON."),
        _ => ("bad_request", "The request could not be handled."),
    };
    Problem::new(status, code, detail)
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
pub async fn fallback(req: HttpRequest, table: Data<RouteTable>) -> HttpResponse {
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

/// Prometheus metrics: request counts and latencies by route and status, pool state.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool_connections: IntGauge,
    pool_idle: IntGauge,
    pool_max: IntGauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by method, route and status.",
            ),
            &["method", "route", "status"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by method and route.",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["method", "route"],
        )
        .expect("valid metric");
        let gauge = |name: &str, help: &str| IntGauge::new(name, help).expect("valid metric");
        let pool_connections = gauge("db_pool_connections", "Open database connections.");
        let pool_idle = gauge("db_pool_idle_connections", "Idle database connections.");
        let pool_max = gauge("db_pool_max_connections", "Configured pool size.");
        for c in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(pool_connections.clone()),
            Box::new(pool_idle.clone()),
            Box::new(pool_max.clone()),
        ] {
            registry.register(c).expect("metric registered once");
        }
        Self {
            registry,
            requests,
            latency,
            pool_connections,
            pool_idle,
            pool_max,
        }
    }

    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(seconds);
    }

    /// Prometheus text exposition, with the pool state read now.
    pub fn render(&self, pool: (u32, u32, u32)) -> String {
        self.pool_connections.set(pool.0 as i64);
        self.pool_idle.set(pool.1 as i64);
        self.pool_max.set(pool.2 as i64);
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("text encoding");
        String::from_utf8(out).expect("prometheus text is UTF-8")
    }
}
