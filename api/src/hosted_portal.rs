//! The hosted customer portal at `/portal/`: a small web app built only on the public portal
//! API (`X-Session-Token`), exactly as a merchant's own frontend would be, so it doubles as the
//! example for one. Plain HTML, CSS and JavaScript in `api/portal/`, embedded in the binary;
//! uPlot (MIT, vendored with its licence) draws the usage charts. No build step, no request to
//! anyone but this server: the Content-Security-Policy allows only this origin's scripts,
//! styles and API, and images from it or over https (the merchant's logo).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

const INDEX: &[u8] = include_bytes!("../portal/index.html");

/// The app's files: (name under `/portal/`, content type, bytes).
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("app.js", JS, include_bytes!("../portal/app.js")),
    ("app.css", CSS, include_bytes!("../portal/app.css")),
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

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' https: data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

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

async fn index() -> HttpResponse {
    respond(HTML, INDEX)
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
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        // The login URL carries a single-use code: never sent on as a Referer.
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        // Small files, and a new server version must be picked up at once.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body)
}
