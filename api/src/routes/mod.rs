pub mod admin;
pub mod invoice_dto;
pub mod ops;
pub mod overview_dto;
pub mod portal;
pub mod session_dto;
pub mod usage_dto;
pub mod wallet_dto;

use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

/// Every route of the API. Registered with `.service` so utoipa-actix-web documents each one.
/// `cors_origins`: browser origins allowed on portal routes.
pub fn configure(cfg: &mut ServiceConfig, cors_origins: &[String]) {
    cfg.service(ops::healthz)
        .service(ops::readyz)
        .service(ops::metrics);
    cfg.service(
        scope::scope("/v1")
            .service(admin::api_keys::create)
            .service(admin::api_keys::list)
            .service(admin::api_keys::revoke)
            .service(admin::customers::create)
            .service(admin::customers::list)
            .service(admin::customers::get_by_external_id)
            .service(admin::customers::get)
            .service(admin::customers::update)
            .service(admin::customers::archive)
            .service(admin::portal_sessions::create)
            .service(admin::portal_sessions::list)
            .service(admin::portal_sessions::revoke)
            .service(admin::portal_sessions::shortcut)
            .service(admin::audit::list)
            .service(admin::wallets::create)
            .service(admin::wallets::list)
            .service(admin::wallets::get)
            .service(admin::wallets::update)
            .service(admin::wallets::top_up)
            .service(admin::wallets::debit)
            .service(admin::wallets::close)
            .service(admin::wallets::transactions)
            .service(admin::invoices::create)
            .service(admin::invoices::list)
            .service(admin::invoices::get)
            .service(admin::invoices::update)
            .service(admin::invoices::delete)
            .service(admin::invoices::finalize)
            .service(admin::invoices::void)
            .service(admin::invoices::pdf)
            .service(admin::payments::pay)
            .service(admin::payments::refund)
            .service(admin::payments::list)
            .service(admin::payments::get)
            .service(admin::usage::create_feature)
            .service(admin::usage::list_features)
            .service(admin::usage::get_feature)
            .service(admin::usage::update_feature)
            .service(admin::usage::send_event)
            .service(admin::usage::send_batch)
            .service(admin::usage::list_events)
            .service(admin::usage::customer_usage)
            .service(admin::usage::customer_overview)
            .service(
                scope::scope("/portal")
                    .wrap(portal_cors(cors_origins))
                    .service(portal::session::exchange)
                    .service(portal::session::current)
                    .service(portal::session::logout)
                    .service(portal::customer::get)
                    .service(portal::customer::update)
                    .service(portal::wallets::list)
                    .service(portal::wallets::get)
                    .service(portal::wallets::transactions)
                    .service(portal::invoices::list)
                    .service(portal::invoices::summary)
                    .service(portal::invoices::get)
                    .service(portal::invoices::pdf)
                    .service(portal::payments::list)
                    .service(portal::usage::usage)
                    .service(portal::usage::overview),
            ),
    );
}

/// CORS for portal routes: only the configured origins, never `*`, no cookies (the session
/// token travels in a header). Requests from other origins are not refused by the server; they
/// simply get no CORS headers, so browsers keep their responses from the page.
fn portal_cors(origins: &[String]) -> actix_cors::Cors {
    use actix_web::http::header::{self, HeaderName};
    let mut cors = actix_cors::Cors::default()
        .block_on_origin_mismatch(false)
        .allowed_methods(["GET", "POST", "PATCH", "DELETE"])
        .allowed_headers([
            header::CONTENT_TYPE,
            HeaderName::from_static("x-session-token"),
            HeaderName::from_static("x-request-id"),
        ])
        // Content-Disposition lets a frontend name a downloaded PDF.
        .expose_headers([
            HeaderName::from_static("x-request-id"),
            header::RETRY_AFTER,
            header::CONTENT_DISPOSITION,
        ])
        .max_age(3600);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}
