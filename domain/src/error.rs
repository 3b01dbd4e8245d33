//! Errors the domain can report. The api crate maps each to an HTTP status and a stable `code`.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The object does not exist *for this tenant* (another tenant's object looks the same).
    #[error("{resource} not found")]
    NotFound {
        resource: &'static str,
        code: &'static str,
    },
    /// The request is well-formed but conflicts with stored state (e.g. a duplicate external_id).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// Well-formed and valid, but the state of things does not allow it (e.g. not enough
    /// credits). Nothing was changed.
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    /// Missing, malformed, unknown, expired or revoked credentials.
    #[error("{message}")]
    Unauthenticated {
        code: &'static str,
        message: &'static str,
    },
    /// Authenticated, but this action is not allowed to this caller.
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    /// Storage or other infrastructure failure; the message is logged, never sent to clients.
    #[error("internal error: {0}")]
    Internal(String),
}

impl DomainError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    pub fn internal(e: impl fmt::Display) -> Self {
        Self::Internal(e.to_string())
    }
}

pub type DomainResult<T> = Result<T, DomainError>;
