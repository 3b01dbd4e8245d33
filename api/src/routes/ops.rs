//! Operational routes: no authentication, nothing tenant-specific.

use actix_web::http::header;
use actix_web::web::Data;
use actix_web::{get, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use domain::ErrorCode;

use crate::error::{blocking, ApiError};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
    /// `readyz` only: the database backend in use.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "postgres")]
    pub database: Option<&'static str>,
}

/// Liveness: the process is up.
#[utoipa::path(operation_id = "check_health", tag = "Operations", responses((status = 200, body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok",
        database: None,
    })
}

/// Readiness: the database answers.
#[utoipa::path(operation_id = "check_readiness", tag = "Operations", responses(
    (status = 200, body = Health),
    (status = 503, description = "The database does not answer."),
))]
#[get("/readyz")]
pub async fn readyz(state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    let health = state.health.clone();
    blocking(move || health.ping()).await.map_err(|e| {
        tracing::warn!(error = %e, "readiness check failed");
        ApiError::new(ErrorCode::Unavailable, "The database does not answer.")
    })?;
    Ok(HttpResponse::Ok().json(Health {
        status: "ok",
        database: Some(state.store.backend().as_str()),
    }))
}

/// Prometheus metrics: `http_requests_total`, `http_request_duration_seconds`, `db_pool_*`,
/// `billing_steps_total`, `webhook_deliveries_total`, `emails_total`, `usage_events_total`,
/// `portal_sessions_total`, and per queue `backlog_pending` and `backlog_oldest_seconds` (the
/// billing lag, the outbox's age). Without the database the backlogs are left out.
#[utoipa::path(operation_id = "get_metrics", tag = "Operations", responses((status = 200, description = "Prometheus text format.", body = String, content_type = "text/plain")))]
#[get("/metrics")]
pub async fn metrics(state: Data<AppState>) -> HttpResponse {
    let (health, now) = (state.health.clone(), domain::clock::now());
    let backlogs = blocking(move || health.backlogs(now))
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "backlogs unread");
            Vec::new()
        });
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/plain; version=0.0.4"))
        .body(
            state
                .metrics
                .render(state.store.pool_state(), &backlogs, now),
        )
}
