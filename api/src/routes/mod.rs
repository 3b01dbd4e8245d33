//! Every route, one folder per resource: `dto.rs` (the JSON shapes), `admin.rs` (routes under
//! `x-api-key`, scoped to the key's account), `portal.rs` (routes under `X-Session-Token`,
//! scoped to the session's customer).

pub mod account;
pub mod activity;
pub mod alerts;
pub mod api_keys;
pub mod audit;
pub mod billing_runs;
pub mod common;
pub mod coupons;
pub mod credit_notes;
pub mod customers;
pub mod emails;
pub mod entitlements;
pub mod events;
pub mod features;
pub mod invoices;
pub mod licenses;
pub mod ops;
pub mod overview;
pub mod paths;
pub mod payment_methods;
pub mod payments;
pub mod plans;
pub mod portal_sessions;
pub mod promotion_codes;
pub mod subscriptions;
pub mod tax_rates;
pub mod test_clocks;
pub mod usage;
pub mod wallets;
pub mod webhooks;

/// Every route of the API, written once and registered two ways: `$scope` is
/// utoipa-actix-web's scope when collecting the OpenAPI document ([`document`]) and actix-web's
/// own when serving ([`serve`]), so what is served is exactly what is documented, and a worker
/// never builds the document.
macro_rules! routes {
    ($cfg:expr, $scope:path, $cors_origins:expr) => {
        $cfg.service(ops::healthz)
            .service(ops::readyz)
            .service(ops::metrics);
        $cfg.service(
            $scope("/v1")
                // The portal's routes first: actix tries a scope's routes in order, and each
                // admin route with a path parameter costs a regex match against every portal
                // request that reaches it (~6% of the server's CPU on the session check).
                .service(
                    $scope("/portal")
                        .wrap(portal_cors($cors_origins))
                        .service(portal_sessions::portal::exchange)
                        .service(portal_sessions::portal::ask_login_link)
                        .service(portal_sessions::portal::current)
                        .service(portal_sessions::portal::logout)
                        .service(account::portal::branding)
                        .service(customers::portal::get)
                        .service(customers::portal::update)
                        .service(alerts::portal::list)
                        .service(alerts::portal::create)
                        .service(alerts::portal::remove)
                        .service(licenses::portal::list)
                        .service(licenses::portal::deactivate)
                        .service(wallets::portal::list)
                        .service(wallets::portal::get)
                        .service(wallets::portal::transactions)
                        .service(invoices::portal::list)
                        .service(invoices::portal::export)
                        .service(invoices::portal::summary)
                        .service(invoices::portal::get)
                        .service(invoices::portal::pdf)
                        .service(invoices::portal::revise)
                        .service(credit_notes::portal::list)
                        .service(credit_notes::portal::get)
                        .service(credit_notes::portal::pdf)
                        .service(payments::portal::list)
                        .service(activity::portal::list)
                        .service(payments::portal::pay)
                        .service(usage::portal::usage)
                        .service(usage::portal::export)
                        .service(plans::portal::list)
                        .service(subscriptions::portal::list)
                        .service(subscriptions::portal::get)
                        .service(subscriptions::portal::cancel)
                        .service(subscriptions::portal::uncancel)
                        .service(subscriptions::portal::change)
                        .service(subscriptions::portal::change_preview)
                        .service(subscriptions::portal::upcoming_invoice)
                        .service(subscriptions::discount::redeem)
                        .service(subscriptions::discount::retention_offer)
                        .service(subscriptions::discount::accept_retention_offer)
                        .service(entitlements::portal::list)
                        .service(payment_methods::portal::list)
                        .service(payment_methods::portal::setup)
                        .service(payment_methods::portal::make_default)
                        .service(payment_methods::portal::delete)
                        .service(overview::portal::overview),
                )
                .service(account::admin::get)
                .service(account::admin::update)
                .service(api_keys::admin::create)
                .service(api_keys::admin::list)
                .service(api_keys::admin::revoke)
                .service(customers::admin::create)
                .service(customers::admin::list)
                .service(customers::admin::export)
                .service(customers::admin::get_by_external_id)
                .service(customers::admin::get)
                .service(customers::admin::update)
                .service(customers::admin::archive)
                .service(activity::admin::list)
                .service(portal_sessions::admin::create)
                .service(portal_sessions::admin::list)
                .service(portal_sessions::admin::revoke)
                .service(portal_sessions::admin::shortcut)
                .service(portal_sessions::admin::send_link)
                .service(alerts::admin::list)
                .service(alerts::admin::create)
                .service(alerts::admin::remove)
                .service(licenses::admin::create)
                .service(licenses::admin::list)
                .service(licenses::admin::get)
                .service(licenses::admin::disable)
                .service(licenses::admin::enable)
                .service(licenses::public::validate)
                .service(licenses::public::activate)
                .service(licenses::public::deactivate)
                .service(emails::admin::list)
                .service(emails::admin::get)
                .service(emails::admin::retry)
                .service(audit::admin::list)
                .service(wallets::admin::create)
                .service(wallets::admin::list)
                .service(wallets::admin::get)
                .service(wallets::admin::update)
                .service(wallets::admin::top_up)
                .service(wallets::admin::debit)
                .service(wallets::admin::close)
                .service(wallets::admin::transactions)
                .service(invoices::admin::create)
                .service(invoices::admin::list)
                .service(invoices::admin::export)
                .service(invoices::admin::get)
                .service(invoices::admin::update)
                .service(invoices::admin::delete)
                .service(invoices::admin::finalize)
                .service(invoices::admin::void)
                .service(invoices::admin::pdf)
                .service(invoices::admin::revise)
                .service(credit_notes::admin::create)
                .service(credit_notes::admin::list)
                .service(credit_notes::admin::get)
                .service(credit_notes::admin::void)
                .service(credit_notes::admin::pdf)
                .service(payments::admin::pay)
                .service(payments::admin::refund)
                .service(payments::admin::confirm)
                .service(payments::admin::fail)
                .service(payments::admin::list)
                .service(payments::admin::get)
                .service(tax_rates::admin::create)
                .service(tax_rates::admin::list)
                .service(tax_rates::admin::get)
                .service(tax_rates::admin::archive)
                .service(coupons::admin::create)
                .service(coupons::admin::list)
                .service(coupons::admin::get)
                .service(coupons::admin::archive)
                .service(promotion_codes::admin::create)
                .service(promotion_codes::admin::list)
                .service(promotion_codes::admin::get)
                .service(promotion_codes::admin::deactivate)
                .service(features::admin::create)
                .service(features::admin::list)
                .service(features::admin::get)
                .service(features::admin::update)
                .service(events::admin::send_event)
                .service(events::admin::send_batch)
                .service(events::admin::list)
                .service(usage::admin::customer_usage)
                .service(usage::admin::export)
                .service(overview::admin::customer_overview)
                .service(plans::admin::create)
                .service(plans::admin::list)
                .service(plans::admin::get)
                .service(plans::admin::update)
                .service(plans::admin::archive)
                .service(subscriptions::admin::create)
                .service(subscriptions::admin::list)
                .service(subscriptions::admin::get)
                .service(subscriptions::admin::cancel)
                .service(subscriptions::admin::uncancel)
                .service(subscriptions::admin::pause)
                .service(subscriptions::admin::resume)
                .service(subscriptions::admin::change)
                .service(subscriptions::admin::change_preview)
                .service(subscriptions::admin::upcoming_invoice)
                .service(subscriptions::discount::apply)
                .service(subscriptions::discount::remove)
                .service(test_clocks::admin::create)
                .service(test_clocks::admin::list)
                .service(test_clocks::admin::get)
                .service(test_clocks::admin::advance)
                .service(billing_runs::admin::list)
                .service(payment_methods::admin::create)
                .service(payment_methods::admin::list)
                .service(payment_methods::admin::get)
                .service(payment_methods::admin::update)
                .service(payment_methods::admin::make_default)
                .service(payment_methods::admin::detach)
                .service(entitlements::admin::list)
                .service(entitlements::admin::check)
                .service(webhooks::admin::create)
                .service(webhooks::admin::list)
                .service(webhooks::admin::get)
                .service(webhooks::admin::update)
                .service(webhooks::admin::delete)
                .service(webhooks::admin::rotate_secret)
                .service(webhooks::admin::test)
                .service(webhooks::admin::deliveries)
                .service(webhooks::admin::replay)
                .service(webhooks::admin::retry)
                .service(webhooks::admin::events)
                .service(webhooks::admin::event),
        );
    };
}

/// The routes as utoipa-actix-web collects them into the OpenAPI document.
pub fn document(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    routes!(cfg, utoipa_actix_web::scope::scope, &[]);
}

/// The routes a worker serves. `cors_origins`: browser origins allowed on portal routes.
pub fn serve(cfg: &mut actix_web::web::ServiceConfig, cors_origins: &[String]) {
    routes!(cfg, actix_web::web::scope, cors_origins);
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
