//! Request extractors that answer bad input with problem+json: the admin key, strict JSON
//! bodies and query strings (unknown fields, wrong types and missing fields name the field).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::web::{Bytes, BytesMut, Data};
use actix_web::{FromRequest, HttpRequest};
use domain::portal_session::{PortalSession, SessionMode};
use domain::services::api_keys::{Principal, INVALID_KEY};
use domain::FieldError;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::{blocking, ApiError};
use crate::state::AppState;

pub const API_KEY_HEADER: &str = "x-api-key";
pub const SESSION_HEADER: &str = "X-Session-Token";
pub const NOT_JSON: &str = "Send the body as JSON with Content-Type: application/json.";

/// An authenticated merchant backend (header `x-api-key`).
pub struct AdminKey(pub Principal);

impl FromRequest for AdminKey {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<Data<AppState>>().cloned();
        let presented = req
            .headers()
            .get(API_KEY_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("application state missing"))?;
            let presented = presented.ok_or_else(|| {
                ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", INVALID_KEY)
            })?;
            let principal = blocking(move || state.api_keys.authenticate(&presented)).await?;
            Ok(AdminKey(principal))
        })
    }
}

/// A customer's portal session (header `X-Session-Token`), checked against its stored row.
/// Requests under an admin preview are recorded in the audit log.
pub struct PortalAuth(pub PortalSession);

impl FromRequest for PortalAuth {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<Data<AppState>>().cloned();
        let token = req
            .headers()
            .get(SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let method = req.method().to_string();
        let route = req.match_pattern().unwrap_or_else(|| req.path().to_owned());
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("application state missing"))?;
            let token = token.ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_token",
                    "Send the session token in X-Session-Token.",
                )
            })?;
            let portal = state.portal.clone();
            let limits = state.limits.clone();
            let session = blocking(move || {
                let session = portal.authenticate(&token, &|sid| limits.audit_refusal(sid))?;
                if session.mode == SessionMode::AdminPreview {
                    portal.record_preview(&session, &method, &route)?;
                }
                Ok(session)
            })
            .await
            .and_then(|session| state.limits.portal(&session.id).map(|()| session))
            .inspect_err(|e| {
                if e.status == StatusCode::UNAUTHORIZED {
                    // Never the token itself.
                    tracing::info!(code = e.code, "portal token refused");
                }
            })?;
            Ok(PortalAuth(session))
        })
    }
}

/// A JSON body, deserialised strictly. Keeps the raw bytes for idempotency fingerprints.
pub struct JsonBody<T> {
    pub value: T,
    pub raw: Bytes,
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<Data<AppState>>()
            .map(|s| s.max_body_bytes)
            .unwrap_or(1_048_576);
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_ascii_lowercase);
        let declared_len = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            let is_json = content_type.as_deref().is_some_and(|ct| {
                let essence = ct.split(';').next().unwrap_or("").trim();
                essence == "application/json" || essence.ends_with("+json")
            });
            if !is_json {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    NOT_JSON,
                ));
            }
            let too_large = || {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("The body exceeds {limit} bytes."),
                )
            };
            if declared_len.is_some_and(|n| n > limit) {
                return Err(too_large());
            }
            let mut body = BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| {
                    ApiError::new(StatusCode::BAD_REQUEST, "malformed_body", e.to_string())
                })?;
                if body.len() + chunk.len() > limit {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            let raw = body.freeze();
            let value = parse_json(&raw)?;
            Ok(JsonBody { value, raw })
        })
    }
}

fn parse_json<T: DeserializeOwned>(raw: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(raw);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|err| {
        let field = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_data() {
            // Wrong type, unknown or missing field: the JSON is fine, its content is not.
            let field = if field == "." {
                "body".to_owned()
            } else {
                field
            };
            ApiError::validation(vec![FieldError::new(
                field,
                clean_serde_message(&inner.to_string()),
            )])
        } else {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("The body is not valid JSON: {inner}."),
            )
        }
    })?;
    // Anything but whitespace after the JSON value (`{"name":"x"} garbage`) is malformed.
    de.end().map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("The body is not valid JSON: {e}."),
        )
    })?;
    Ok(value)
}

/// serde's messages end with " at line 1 column 17"; the field path says more.
fn clean_serde_message(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

/// A query string, deserialised with the same field-level errors as bodies.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(
            req.query_string().as_bytes(),
        ));
        std::future::ready(
            serde_path_to_error::deserialize(de)
                .map(Query)
                .map_err(|err| {
                    let field = err.path().to_string();
                    let field = if field == "." {
                        "query".to_owned()
                    } else {
                        field
                    };
                    ApiError::validation(vec![FieldError::new(
                        field,
                        clean_serde_message(&err.into_inner().to_string()),
                    )])
                }),
        )
    }
}
