//! Request extractors that answer bad input with problem+json: the admin key, strict JSON
//! bodies and query strings (unknown fields, wrong types and missing fields name the field).

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::web::{Bytes, BytesMut, Data};
use actix_web::{FromRequest, HttpRequest};
use domain::portal_session::{PortalSession, Section, SessionMode, TokenClaims};
use domain::services::api_keys::{Principal, INVALID_KEY};
use domain::services::portal_sessions::Visitor;
use domain::FieldError;
use domain::{DomainError, ErrorCode};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::{blocking, ApiError};
use crate::state::AppState;

pub const API_KEY_HEADER: &str = "x-api-key";
pub const SESSION_HEADER: &str = "X-Session-Token";
pub const NOT_JSON: &str = "Send the body as JSON with Content-Type: application/json.";

/// The TCP peer's address, not X-Forwarded-For, which any client can set.
pub fn client_address(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default()
}

/// An authenticated merchant backend (header `x-api-key`).
pub struct AdminKey(pub Principal);

impl FromRequest for AdminKey {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<Data<AppState>>().cloned();
        let client = client_address(req);
        let presented = req
            .headers()
            .get(API_KEY_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("application state missing"))?;
            // A missing key is a mistake, not a guess: only wrong credentials count.
            let presented =
                presented.ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, INVALID_KEY))?;
            let keys = state.api_keys.clone();
            if let Some(principal) = keys.recently_verified(&presented) {
                return Ok(AdminKey(principal));
            }
            match blocking(move || keys.authenticate(&presented)).await {
                Ok(principal) => Ok(AdminKey(principal)),
                Err(e) if e.status == StatusCode::UNAUTHORIZED => {
                    Err(state.limits.refuse(&client, e))
                }
                Err(e) => Err(e),
            }
        })
    }
}

/// The portal section a route belongs to, as a type: `PortalAuth<section::Invoices>` refuses a
/// session with that section off (403 `section_disabled`) before the handler runs, so a portal
/// handler cannot forget its guard. `section::Any` is for the session's own routes (the
/// session, branding), which every session may call.
pub trait SectionGuard {
    const SECTION: Option<Section>;
}

pub mod section {
    use super::SectionGuard;
    use domain::portal_session::Section;

    macro_rules! guards {
        ($($name:ident),* $(,)?) => {
            $(
                #[doc = concat!("Routes of the portal's `", stringify!($name), "` section.")]
                pub struct $name;
                impl SectionGuard for $name {
                    const SECTION: Option<Section> = Some(Section::$name);
                }
            )*
        };
    }
    guards!(
        Overview,
        Credits,
        Invoices,
        Usage,
        Payments,
        Subscriptions,
        Profile,
        PaymentMethods,
        Activity,
        Licenses,
    );

    /// Routes every session may call, whatever its sections.
    pub struct Any;
    impl SectionGuard for Any {
        const SECTION: Option<Section> = None;
    }
}

/// Refuses a customer's session whose section `S` is off.
fn in_section<S: SectionGuard>(session: &PortalSession) -> Result<(), ApiError> {
    match S::SECTION {
        Some(section) => Ok(session.require_section(section)?),
        None => Ok(()),
    }
}

/// A customer's portal token (header `X-Session-Token`), its seal verified, for section `S`.
/// Its session row is checked by [`PortalAuth::run`], in the same blocking call and on the same
/// database connection as the handler's reads: a portal read is one hop to the blocking pool
/// and one connection checkout. `run` refuses a session with section `S` off (403
/// `section_disabled`) before the handler's work, so a portal handler cannot forget its guard,
/// and records requests made under an admin preview in the audit log.
pub struct PortalAuth<S: SectionGuard> {
    state: Data<AppState>,
    claims: TokenClaims,
    client: String,
    /// The request's method and matched route, for the audit of previews.
    method: String,
    route: String,
    section: PhantomData<S>,
}

impl<S: SectionGuard + 'static> FromRequest for PortalAuth<S> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Self::sealed(req))
    }
}

impl<S: SectionGuard> PortalAuth<S> {
    /// The token's claims, if this server sealed it and it has not expired (no database read).
    fn sealed(req: &HttpRequest) -> Result<Self, ApiError> {
        let state = req
            .app_data::<Data<AppState>>()
            .cloned()
            .ok_or_else(|| ApiError::internal("application state missing"))?;
        let client = client_address(req);
        let claims = session_token(req)
            .and_then(|token| Ok(state.portal.claims(token)?))
            .map_err(|e| refused(&state, &client, e))?;
        Ok(Self {
            claims,
            client,
            method: req.method().to_string(),
            route: crate::middleware::route_of(req),
            section: PhantomData,
            state,
        })
    }

    /// The account and customer the token names, as sealed in it (the session itself is checked
    /// by [`Self::run`]): enough to bind a page's cursor to its owner.
    pub fn owner(&self) -> (&domain::id::TenantId, &str) {
        (&self.claims.tenant_id, &self.claims.customer_id)
    }

    /// Runs `work` for the token's session, in one blocking call on one database connection:
    /// the session row is checked first (refused, revoked, expired or idle: 401; over its rate
    /// limit: 429; section off: 403), the use of an admin preview audited, then `work` runs with
    /// the session.
    pub async fn run<T, F>(self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&PortalSession) -> Result<T, DomainError> + Send + 'static,
        T: Send + 'static,
    {
        let Self {
            state,
            claims,
            client,
            method,
            route,
            ..
        } = self;
        let st = state.clone();
        // Outer: the session's refusal; inner: the work's own outcome.
        let answer = actix_web::web::block(move || {
            let st = &st;
            let outcome = st.store.on_one_connection(|| {
                Ok(Self::admitted(st, &claims, &method, &route).map(|session| work(&session)))
            });
            match outcome {
                Ok(Ok(done)) => Ok(done.map_err(ApiError::from)),
                Ok(Err(refusal)) => Err(refusal),
                Err(e) => Err(ApiError::from(e)),
            }
        })
        .await?;
        answer.map_err(|e| refused(&state, &client, e))?
    }

    /// The session itself, checked as [`Self::run`] checks it, for work that spans more than one
    /// blocking call (an idempotent write, a streamed export).
    pub async fn session(self) -> Result<PortalSession, ApiError> {
        self.run(|session| Ok(session.clone())).await
    }

    /// The stored session, if it may be used now for section `S` (see [`admit`]).
    fn admitted(
        st: &AppState,
        claims: &TokenClaims,
        method: &str,
        route: &str,
    ) -> Result<PortalSession, ApiError> {
        let audit = |sid: &str| st.limits.audit_refusal(sid);
        let session = st.portal.session_of(claims, &audit)?;
        admit(st, &session, method, route)?;
        in_section::<S>(&session)?;
        Ok(session)
    }
}

/// What every customer's portal request does once its session row is checked: the per-session
/// rate limit, then, under an admin preview, the request's audit entry (written before any
/// section refusal, so a preview's every attempt is on record).
fn admit(
    st: &AppState,
    session: &PortalSession,
    method: &str,
    route: &str,
) -> Result<(), ApiError> {
    st.limits.portal(session.id.as_str())?;
    if session.mode == SessionMode::AdminPreview {
        st.portal.record_preview(session, method, route)?;
    }
    Ok(())
}

/// The request's session token, or 401 `invalid_token`.
fn session_token(req: &HttpRequest) -> Result<&str, ApiError> {
    req.headers()
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidToken,
                "Send the session token in X-Session-Token.",
            )
        })
}

/// A refused credential (401) counts against the client's failed attempts, and is logged
/// without the token; any other error passes as it is.
fn refused(state: &AppState, client: &str, e: ApiError) -> ApiError {
    if e.status == StatusCode::UNAUTHORIZED {
        tracing::info!(code = e.code.as_str(), "portal token refused");
        state.metrics.session("refused");
        state.limits.refuse(client, e)
    } else {
        e
    }
}

/// Whoever a portal token stands for: a customer's session (allowed to open section `S`) or a
/// guest session (for the few routes a guest may call: the plans catalogue, the branding, the
/// session itself).
pub struct PortalVisitor<S: SectionGuard>(pub Visitor, pub PhantomData<S>);

impl<S: SectionGuard + 'static> FromRequest for PortalVisitor<S> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let visitor = visitor_of(req);
        Box::pin(async move {
            let visitor = visitor.await?;
            if let Visitor::Customer(session) = &visitor {
                in_section::<S>(session)?;
            }
            Ok(PortalVisitor(visitor, PhantomData))
        })
    }
}

/// Checks the request's session token against its stored row (a customer's or a guest's): the
/// throttle on failed attempts, the per-session rate limit, and the audit of requests made under
/// an admin preview.
fn visitor_of(req: &HttpRequest) -> Pin<Box<dyn Future<Output = Result<Visitor, ApiError>>>> {
    let state = req.app_data::<Data<AppState>>().cloned();
    let token = session_token(req).map(str::to_owned);
    let client = client_address(req);
    let (method, route) = (req.method().to_string(), crate::middleware::route_of(req));
    Box::pin(async move {
        let state = state.ok_or_else(|| ApiError::internal("application state missing"))?;
        let st = state.clone();
        let visitor = actix_web::web::block(move || -> Result<Visitor, ApiError> {
            let token = token?;
            let audit = |sid: &str| st.limits.audit_refusal(sid);
            let visitor = st.portal.authenticate_visitor(&token, &audit)?;
            match &visitor {
                Visitor::Customer(session) => admit(&st, session, &method, &route)?,
                Visitor::Guest(guest) => st.limits.portal(guest.id.as_str())?,
            }
            Ok(visitor)
        })
        .await?;
        visitor.map_err(|e| refused(&state, &client, e))
    })
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
        let read = read_json(req, payload);
        Box::pin(async move {
            let raw = read.await?;
            let value = parse_json(&raw)?;
            if let Some(field) = nul_in_json(&raw) {
                return Err(ApiError::validation(vec![FieldError::new(field, NUL)]));
            }
            Ok(JsonBody { value, raw })
        })
    }
}

/// A batch whose items are judged one by one: like [`JsonBody`], except that NUL inside an item
/// is left for the handler to refuse with that item alone (see [`nul_in_value`]).
pub struct BatchBody<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for BatchBody<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let read = read_json(req, payload);
        Box::pin(async move { Ok(BatchBody(parse_json(&read.await?)?)) })
    }
}

/// The body's bytes, once its content type and size are right.
fn read_json(
    req: &HttpRequest,
    payload: &mut Payload,
) -> impl Future<Output = Result<Bytes, ApiError>> {
    let state = req.app_data::<Data<AppState>>();
    let limit = state.map(|s| s.max_body_bytes).unwrap_or(1_048_576);
    let timeout = state
        .map(|s| s.limits.body_timeout)
        .unwrap_or(std::time::Duration::from_secs(30));
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
    async move {
        let is_json = content_type.as_deref().is_some_and(|ct| {
            let essence = ct.split(';').next().unwrap_or("").trim();
            essence == "application/json" || essence.ends_with("+json")
        });
        if !is_json {
            return Err(ApiError::new(ErrorCode::UnsupportedMediaType, NOT_JSON));
        }
        let too_large = || {
            ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("The body exceeds {limit} bytes."),
            )
        };
        if declared_len.is_some_and(|n| n > limit) {
            return Err(too_large());
        }
        let read = async {
            let mut body = BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk =
                    chunk.map_err(|e| ApiError::new(ErrorCode::MalformedBody, e.to_string()))?;
                if body.len() + chunk.len() > limit {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(body.freeze())
        };
        // A client that trickles its body would otherwise hold a connection and a worker's
        // attention for as long as it likes (headers have their own 5 s limit).
        actix_web::rt::time::timeout(timeout, read)
            .await
            .map_err(|_| {
                ApiError::new(
                    ErrorCode::BodyTimeout,
                    format!(
                        "The request body did not arrive within {} seconds.",
                        timeout.as_secs()
                    ),
                )
            })?
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
                ErrorCode::MalformedJson,
                format!("The body is not valid JSON: {inner}."),
            )
        }
    })?;
    // Anything but whitespace after the JSON value (`{"name":"x"} garbage`) is malformed.
    de.end().map_err(|e| {
        ApiError::new(
            ErrorCode::MalformedJson,
            format!("The body is not valid JSON: {e}."),
        )
    })?;
    Ok(value)
}

/// NUL is refused in every text input: PostgreSQL cannot store it in text, and SQLite compares
/// and searches around it differently, so the two backends would disagree.
pub const NUL: &str = "must not contain the NUL character (U+0000)";

/// Where a JSON body holds a NUL (written `\u0000`), as a field path (`lines[0].description`).
fn nul_in_json(raw: &[u8]) -> Option<String> {
    // Fast path: without the escape there is no NUL (raw control bytes are not valid JSON).
    if !raw.windows(6).any(|w| w == b"\\u0000") {
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(raw).ok()?;
    nul_in_value(&value).map(|p| if p.is_empty() { "body".into() } else { p })
}

/// Where a JSON value holds a NUL, in a string or a key, as a field path (empty: the value).
pub fn nul_in_value(value: &serde_json::Value) -> Option<String> {
    fn walk(v: &serde_json::Value, path: &str) -> Option<String> {
        match v {
            serde_json::Value::String(s) => s.contains('\0').then(|| path.to_owned()),
            serde_json::Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, item)| walk(item, &format!("{path}[{i}]"))),
            serde_json::Value::Object(map) => map.iter().find_map(|(k, item)| {
                let here = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                if k.contains('\0') {
                    Some(here)
                } else {
                    walk(item, &here)
                }
            }),
            _ => None,
        }
    }
    walk(value, "")
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
        let pairs = form_urlencoded::parse(req.query_string().as_bytes());
        if let Some((name, _)) = pairs
            .clone()
            .find(|(k, v)| k.contains('\0') || v.contains('\0'))
        {
            return std::future::ready(Err(ApiError::validation(vec![FieldError::new(
                name.replace('\0', ""),
                NUL,
            )])));
        }
        let de = serde_urlencoded::Deserializer::new(pairs);
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
