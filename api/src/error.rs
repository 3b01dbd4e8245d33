//! Every error leaves as RFC 9457 `application/problem+json` with a stable `code`.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use domain::{DomainError, ErrorCode, FieldError};
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";
pub const INVALID_FIELDS: &str = "The request has invalid fields.";

/// RFC 9457 problem details.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// `urn:portal-api:problem:<code>`.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable snake_case identifier to branch on.
    pub code: String,
    /// Field errors, for `validation_failed`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
    /// Why a presented license key was refused (`license_invalid`): `unknown`, `disabled`,
    /// `expired` or `activation_unknown`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::schema::LicenseRefusal>)]
    pub reason: Option<&'static str>,
    /// Present on 5xx: quote it when reporting the problem; it is also in the server log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemField {
    /// Path of the field, e.g. `address.country`.
    pub field: String,
    pub message: String,
}

impl Problem {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        let status = status_of(code);
        Self {
            type_: format!("urn:portal-api:problem:{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            code: code.as_str().to_owned(),
            errors: Vec::new(),
            reason: None,
            request_id: None,
        }
    }

    /// The same problem under the HTTP status actually answered (for the HTTP layer's own
    /// errors, whose status may be more specific than the code's).
    pub fn answered_as(mut self, status: StatusCode) -> Self {
        self.status = status.as_u16();
        self.title = status.canonical_reason().unwrap_or("Error").to_owned();
        self
    }

    pub fn response(&self) -> HttpResponse {
        HttpResponse::build(
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        )
        .insert_header((header::CONTENT_TYPE, PROBLEM_JSON))
        .body(serde_json::to_string(self).expect("problem serialises"))
    }
}

/// The HTTP status of a code.
pub fn status_of(code: ErrorCode) -> StatusCode {
    StatusCode::from_u16(code.status()).expect("error codes carry valid statuses")
}

/// An error a handler returns. 5xx details are logged and never sent.
#[derive(Debug)]
pub struct ApiError {
    /// Always `status_of(code)`.
    pub status: StatusCode,
    pub code: ErrorCode,
    pub detail: String,
    pub errors: Vec<FieldError>,
    /// For 429: seconds until a retry may succeed (`Retry-After`).
    pub retry_after_secs: Option<u64>,
    /// A refusal's stable reason (see [`Problem::reason`]).
    pub reason: Option<&'static str>,
}

impl ApiError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            status: status_of(code),
            code,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after_secs: None,
            reason: None,
        }
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        Self {
            errors,
            ..Self::new(ErrorCode::ValidationFailed, INVALID_FIELDS)
        }
    }

    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::InternalError, detail)
    }

    pub fn problem(&self) -> Problem {
        let mut p = Problem::new(self.code, &self.detail);
        if self.status.is_server_error() {
            p.detail = "The server failed to handle the request; retry, and quote request_id if it persists.".into();
        }
        p.errors = self
            .errors
            .iter()
            .map(|e| ProblemField {
                field: e.field.clone(),
                message: e.message.clone(),
            })
            .collect();
        p.reason = self.reason;
        p
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        if self.status.is_server_error() {
            // The request-id middleware's span puts the id on this line.
            tracing::error!(code = self.code.as_str(), detail = %self.detail, "request failed");
        }
        let mut res = self.problem().response();
        if let Some(secs) = self.retry_after_secs {
            res.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        }
        res
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::NotFound { resource, code } => {
                Self::new(code, format!("No such {resource}."))
            }
            DomainError::Conflict { code, message }
            | DomainError::Unprocessable { code, message }
            | DomainError::Forbidden { code, message }
            | DomainError::BadRequest { code, message } => Self::new(code, message),
            DomainError::Unauthenticated { code, message } => Self::new(code, message),
            DomainError::Validation(errors) => Self::validation(errors),
            DomainError::Refused {
                code,
                field,
                reason,
                message,
            } => Self {
                errors: vec![FieldError::new(field, message.clone())],
                reason: Some(reason),
                ..Self::new(code, message)
            },
            DomainError::Internal(detail) => Self::internal(detail),
            e @ DomainError::WalletLotsNeeded => Self::internal(e.to_string()),
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        Self::internal(format!("blocking pool: {e}"))
    }
}

/// Runs blocking domain/storage work on actix's blocking thread pool, off the async executor.
pub async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, DomainError> + Send + 'static,
    T: Send + 'static,
{
    Ok(actix_web::web::block(f).await??)
}
