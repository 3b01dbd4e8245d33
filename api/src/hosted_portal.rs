//! The hosted customer portal at `/portal/`: a small web app built only on the public portal
//! API (`X-Session-Token`), exactly as a merchant's own frontend would be, so it doubles as the
//! example for one. Plain HTML, CSS and JavaScript in `api/portal/`, embedded in the binary;
//! uPlot (MIT, vendored with its licence) draws the usage charts. No build step, no request to
//! anyone but this server: the Content-Security-Policy allows only this origin's scripts,
//! styles and API, and images from it or over https (the merchant's logo).

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::web::Data;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::blocking;
use crate::state::AppState;

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";
const JSON: &str = "application/json";

const INDEX: &[u8] = include_bytes!("../portal/index.html");

/// The app's files: (name under `/portal/`, content type, bytes).
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("app.js", JS, include_bytes!("../portal/app.js")),
    ("app.css", CSS, include_bytes!("../portal/app.css")),
    // The message catalogues, one per language (see `crate::i18n`).
    (
        "i18n/en.json",
        JSON,
        include_bytes!("../portal/i18n/en.json"),
    ),
    (
        "i18n/de.json",
        JSON,
        include_bytes!("../portal/i18n/de.json"),
    ),
    (
        "i18n/fr.json",
        JSON,
        include_bytes!("../portal/i18n/fr.json"),
    ),
    (
        "i18n/es.json",
        JSON,
        include_bytes!("../portal/i18n/es.json"),
    ),
    (
        "i18n/ar.json",
        JSON,
        include_bytes!("../portal/i18n/ar.json"),
    ),
    (
        "vendor/uPlot.iife.min.js",
        JS,
        include_bytes!("../portal/vendor/uPlot.iife.min.js"),
    ),
    (
        "vendor/uPlot.min.css",
        CSS,
        include_bytes!("../portal/vendor/uPlot.min.css"),
    ),
    (
        "vendor/uPlot.LICENSE",
        TEXT,
        include_bytes!("../portal/vendor/uPlot.LICENSE"),
    ),
];

const CSP_BASE: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' https: data:; connect-src 'self'; base-uri 'none'; form-action 'none'; ";

/// `/portal` and `/portal/` (the session `url` is either plus `?code=…`), the self sign-in page
/// `/portal/login?account=…`, and the app's files.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(["/portal", "/portal/", "/portal/login"])
            .route(web::get().to(index))
            .route(web::head().to(index)),
    )
    .service(
        web::resource("/portal/{file:.+}")
            .route(web::get().to(asset))
            .route(web::head().to(asset)),
    );
}

/// The page, framable by the account's `portal_frame_ancestors` only (see
/// `PortalSessionService::frame_ancestors`): the account of the login code in the address, or
/// the account it names.
async fn index(req: HttpRequest) -> HttpResponse {
    let ancestors = match req.app_data::<Data<AppState>>().cloned() {
        Some(state) => {
            let query = web::Query::<HashMap<String, String>>::from_query(req.query_string())
                .map(web::Query::into_inner)
                .unwrap_or_default();
            let svc = state.portal.clone();
            blocking(move || {
                svc.frame_ancestors(
                    query.get("code").map(String::as_str),
                    query.get("account").map(String::as_str),
                )
            })
            .await
            // When the list cannot be read, no site may frame the page.
            .unwrap_or_default()
        }
        None => Vec::new(),
    };
    respond_framed(HTML, INDEX, &ancestors)
}

async fn asset(req: HttpRequest) -> HttpResponse {
    let name = req.match_info().get("file").unwrap_or_default();
    match ASSETS.iter().find(|(file, ..)| *file == name) {
        Some((_, content_type, body)) => respond(content_type, body),
        None => HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("not found"),
    }
}

fn respond(content_type: &'static str, body: &'static [u8]) -> HttpResponse {
    respond_framed(content_type, body, &[])
}

/// `ancestors`: the origins that may frame it (checked https origins); none: no site may, and
/// `X-Frame-Options: DENY` says so to browsers without CSP too.
fn respond_framed(
    content_type: &'static str,
    body: &'static [u8],
    ancestors: &[String],
) -> HttpResponse {
    let framing = if ancestors.is_empty() {
        "frame-ancestors 'none'".to_owned()
    } else {
        format!("frame-ancestors {}", ancestors.join(" "))
    };
    let mut res = HttpResponse::Ok();
    if ancestors.is_empty() {
        res.insert_header((header::X_FRAME_OPTIONS, "DENY"));
    }
    res.content_type(content_type)
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            format!("{CSP_BASE}{framing}"),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        // The login URL carries a single-use code: never sent on as a Referer.
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        // Small files, and a new server version must be picked up at once.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body)
}
