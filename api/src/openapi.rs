use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::{Problem, ProblemField};

/// The document's frame; paths are collected from the handlers registered in `routes`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Billing customer portal API",
        description = "Admin routes (header `x-api-key`) manage customers and API keys for a merchant account. \
Portal routes (header `X-Session-Token`) serve one customer's own billing data. \
Every error is `application/problem+json` with a stable `code`. Lists use cursor pagination \
(`limit`, `cursor` → `data`, `has_more`, `next_cursor`). Admin POSTs that create objects accept \
`Idempotency-Key`. Money is a decimal string.",
        license(name = "Apache-2.0"),
    ),
    modifiers(&SecuritySchemes),
    components(schemas(Problem, ProblemField)),
    tags(
        (name = "customers", description = "The merchant's customers."),
        (name = "api keys", description = "Admin credentials of the account."),
        (name = "invoices", description = "Drafts, finalization with gapless numbers, voiding, search."),
        (name = "usage", description = "Features (meters), deduplicated events, rollups and usage analytics."),
        (name = "payments", description = "Payments of invoices (from wallets or external) and refunds."),
        (name = "wallets", description = "Prepaid credits: lots, top-ups, debits and the ledger."),
        (name = "portal sessions", description = "Short-lived access for one customer, created by the merchant's backend."),
        (name = "portal", description = "The customer's own view, with `X-Session-Token`."),
        (name = "audit", description = "Who did what: sessions and admin previews."),
        (name = "operations", description = "Health, readiness and metrics."),
    ),
)]
pub struct ApiDoc;

pub const ADMIN_SCHEME: &str = "api_key";
pub const PORTAL_SCHEME: &str = "session_token";

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            ADMIN_SCHEME,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "x-api-key",
                "Admin API key of a merchant account (`sk_…`), for merchant backends only.",
            ))),
        );
        components.add_security_scheme(
            PORTAL_SCHEME,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Session-Token",
                "Portal session token of one customer, for the customer's browser or the merchant's frontend.",
            ))),
        );
    }
}
