pub mod admin;
pub mod ops;
pub mod portal;
pub mod session_dto;

use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

/// Every route of the API. Registered with `.service` so utoipa-actix-web documents each one.
pub fn configure(cfg: &mut ServiceConfig) {
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
            .service(
                scope::scope("/portal")
                    .service(portal::session::exchange)
                    .service(portal::session::current)
                    .service(portal::session::logout)
                    .service(portal::customer::get)
                    .service(portal::customer::update),
            ),
    );
}
