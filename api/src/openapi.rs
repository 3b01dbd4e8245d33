//! The OpenAPI document: its frame, security schemes, and the error responses every route shares.
//!
//! Handlers declare their own success responses and the error codes only they produce; the
//! [`ErrorResponses`] modifier adds what follows from an operation's shape (a JSON body can be
//! malformed, too large or not JSON; a query can fail to parse; a key or token can be refused; a
//! portal session can be rate limited; an `Idempotency-Key` can be reused or still running), so
//! every status the server can answer is declared with a description and an example per `code`.

use std::collections::BTreeSet;

use actix_web::http::StatusCode;
use utoipa::openapi::example::ExampleBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, Response};
use utoipa::{Modify, OpenApi};

use domain::ErrorCode;

use crate::error::{Problem, ProblemField, PROBLEM_JSON};

/// The document's frame; paths are collected from the handlers registered in `routes`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Billing customer portal API",
        description = "Admin routes (header `x-api-key`) are for a merchant's backend: customers, \
prepaid wallets and credits, invoices and payments, usage metering, portal sessions, API keys and \
the audit log of one merchant account. Portal routes (`/v1/portal/…`, header `X-Session-Token`) \
serve one customer's own billing data to the customer's browser or the merchant's frontend: \
overview, profile, wallets, invoices with PDFs, payments and usage. \
Every error is `application/problem+json` with a stable `code`. Lists use cursor pagination \
(`limit`, `cursor` → `data`, `has_more`, `next_cursor`). Admin POSTs that create objects or move \
money accept `Idempotency-Key`. Money is a decimal string. On any route, a request target over \
8 KiB answers 414 `uri_too_long` and a header over 8 KiB (or all headers over 32 KiB) 431 \
`headers_too_large`. The HTTP layer's own refusals answer 404 `route_not_found`, 405 \
`method_not_allowed` (with `Allow`) and 400 `malformed_body` or `bad_request`; a failure of the \
server is 500 `internal_error` with a `request_id`.",
        license(name = "Apache-2.0"),
    ),
    modifiers(&SecuritySchemes),
    // Enums that query parameters name are listed here: parameters do not bring their schemas.
    components(schemas(
        Problem,
        ProblemField,
        crate::schema::CustomerListStatus,
        crate::schema::UsageWindow,
        crate::schema::Granularity,
        crate::schema::InvoiceStatus,
        crate::schema::PaymentStatus,
        crate::schema::PaymentMethodKind,
        crate::schema::PaymentState,
        crate::schema::PlanStatus,
        crate::schema::Visibility,
        crate::schema::TxType,
        crate::schema::SubscriptionStatus,
        crate::schema::EmailKind,
        crate::schema::EmailStatus,
    )),
    tags(
        (name = "Customers", description = "The merchant's customers and their dashboard."),
        (name = "Portal sessions", description = "Short-lived access for one customer, created by the merchant's backend."),
        (name = "Wallets", description = "Prepaid credits: lots, top-ups, debits and the ledger."),
        (name = "Invoices", description = "Drafts, finalization with gapless numbers, voiding, search, PDFs."),
        (name = "Taxes", description = "The merchant's tax rates, inclusive or exclusive, applied to invoice lines most specific first (the line's, the plan's, the customer's, the account's defaults) and computed per line and rate at the currency's minor unit."),
        (name = "Credit notes", description = "The one way to correct an issued invoice: credit some of its lines or an amount, tax reversed in proportion, and lower what is due, credit the customer's wallet or refund the payment. Gapless CN-YYYYMM-NNNNN numbers."),
        (name = "Discounts", description = "Coupons (a percentage, or an amount in one currency, off a subscription's invoices before tax, for one, several or every billing period) and the promotion codes customers type for them, unique per account whatever their case."),
        (name = "Payments", description = "Payments of invoices (from wallets or external) and refunds."),
        (name = "Payment methods", description = "A customer's saved payment methods: the provider's token and display fields, never card data; one default per customer."),
        (name = "Usage", description = "Features (meters), deduplicated events, rollups and usage analytics."),
        (name = "Plans", description = "The catalogue: fixed fees, metered charges with included quantities and graduated tiers, entitlements. Prices never change under subscribers."),
        (name = "Subscriptions", description = "Customers on plans: trials, periods in the customer's time zone, cancellation at period end or at once, plan changes with proration, the upcoming invoice."),
        (name = "Billing", description = "What the billing cycle did: renewals, dunning retries, failures."),
        (name = "Test clocks", description = "Frozen time for test customers: advance it to rehearse renewals, trial ends and dunning in seconds."),
        (name = "Webhooks", description = "Events POSTed to the merchant's endpoints, signed per Standard Webhooks, written in the same transaction as the change they report, retried on Svix's schedule; the event catalogue and the delivery log with retry and replay."),
        (name = "Alerts", description = "The alerts a customer set in the portal or the merchant set for them: usage of a feature this period, spend this month, a credit balance falling below a threshold."),
        (name = "License keys", description = "Keys the merchant's software checks: one per subscription of a plan that issues them, or issued by hand; shown to the merchant and the customer, disabled and enabled by the merchant. Events `license_key.created`, `license_key.activated`, `license_key.deactivated`, `license_key.disabled`."),
        (name = "Licenses", description = "Public routes for the merchant's distributed software, with no API key: the license key is the credential. Validate a key, activate an installation within the key's activation limit, deactivate one. Limited per client address and per key; a refused key is 422 `license_invalid` with a `reason`."),
        (name = "E-mails", description = "Messages to customers (portal links, invoices with their PDF, receipts, failed payments, low balances), written in the transaction of the change they report and sent over SMTP by every replica's mail worker, one message per change and recipient; the log with retry."),
        (name = "Account", description = "The merchant's name, address, support contacts and branding, as invoices and portals show them."),
        (name = "API keys", description = "Admin credentials of the account."),
        (name = "Audit", description = "Who did what: sessions and admin previews."),
        (name = "Portal: session", description = "Log in with the single-use code, read the session and the merchant's branding, log out."),
        (name = "Portal: overview", description = "The customer's dashboard in one call."),
        (name = "Portal: profile", description = "The customer's own profile."),
        (name = "Portal: wallets", description = "The customer's wallets and credit ledger."),
        (name = "Portal: invoices", description = "The customer's bills, outstanding amounts and PDFs."),
        (name = "Portal: credit notes", description = "The customer's credit notes and their PDFs."),
        (name = "Portal: payments", description = "The customer's payment history."),
        (name = "Portal: alerts", description = "The customer's own alerts on their usage, spend and credit balance: each fires once per crossing per period, as webhook `alert.triggered` and an e-mail; set and removed when the session allows it (`alerts_manage`)."),
        (name = "Portal: licenses", description = "The customer's license keys with their activations; deactivate an activation when the session allows it (`license_manage`)."),
        (name = "Portal: payment methods", description = "The customer's saved payment methods; set the default or remove one when the session allows it."),
        (name = "Portal: activity", description = "What happened on the customer's account: payments, refunds, wallet movements, invoices and their own changes."),
        (name = "Portal: usage", description = "The customer's usage analytics with cost."),
        (name = "Portal: plans", description = "The public plans the customer may choose from."),
        (name = "Portal: subscriptions", description = "The customer's subscriptions and their next charge; cancel, uncancel and change plan when the session allows it."),
        (name = "Operations", description = "Health, readiness and metrics."),
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

/// Completes the document once the handlers' paths are in it (modifiers listed on [`ApiDoc`]
/// run before utoipa-actix-web adds the paths).
pub fn complete(mut spec: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    ErrorResponses.modify(&mut spec);
    OnePathParameterEach.modify(&mut spec);
    Formats.modify(&mut spec);
    spec
}

/// A route's path ids are declared once, as typed parameters (`routes::paths`), but
/// utoipa-actix-web also reads a bare one from the handler's `Path<String>`: the declared one
/// (first, with its pattern and example) is kept.
struct OnePathParameterEach;

impl Modify for OnePathParameterEach {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        each_operation(openapi, |_, op| {
            let Some(params) = op.parameters.as_mut() else {
                return;
            };
            let mut seen = BTreeSet::new();
            params.retain(|p| match p {
                RefOr::T(p) if matches!(p.parameter_in, ParameterIn::Path) => {
                    seen.insert(p.name.clone())
                }
                _ => true,
            });
        });
    }
}

/// Runs `f` on every operation of the document, with its path.
fn each_operation(openapi: &mut utoipa::openapi::OpenApi, mut f: impl FnMut(&str, &mut Operation)) {
    for (path, item) in openapi.paths.paths.iter_mut() {
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            f(path, op);
        }
    }
}

/// Declares the error responses that follow from each operation's shape, and gives every
/// response a description and every problem response one example per `code`.
struct ErrorResponses;

/// The portal routes a guest session may call (their handlers take `PortalVisitor`); every
/// other portal route answers a guest 403 `guest_session`.
pub const GUEST_ROUTES: [&str; 3] = [
    "/v1/portal/plans",
    "/v1/portal/branding",
    "/v1/portal/session",
];

/// How an operation is reached, read from its path and declaration.
struct Shape {
    admin: bool,
    portal: bool,
    /// A portal route a guest session may not call.
    customers_only: bool,
    json_body: bool,
    query: bool,
    paged: bool,
    idempotent: bool,
}

impl Shape {
    fn of(path: &str, op: &Operation) -> Self {
        let params: Vec<_> = op
            .parameters
            .iter()
            .flatten()
            .filter_map(|p| match p {
                RefOr::T(p) => Some(p),
                RefOr::Ref(_) => None,
            })
            .collect();
        let portal = path.starts_with("/v1/portal/") && op.security.is_some();
        Self {
            admin: path.starts_with("/v1/") && !path.starts_with("/v1/portal/"),
            portal,
            customers_only: portal && !GUEST_ROUTES.contains(&path),
            json_body: matches!(&op.request_body, Some(RefOr::T(b)) if b.content.contains_key("application/json")),
            query: params
                .iter()
                .any(|p| matches!(p.parameter_in, ParameterIn::Query)),
            paged: params
                .iter()
                .any(|p| matches!(p.parameter_in, ParameterIn::Query) && p.name == "cursor"),
            idempotent: params.iter().any(|p| {
                matches!(p.parameter_in, ParameterIn::Header)
                    && p.name == crate::idempotency::HEADER
            }),
        }
    }

    /// Codes the server can answer with on this operation, whatever its handler does.
    fn implied(&self) -> Vec<ErrorCode> {
        use ErrorCode::*;
        let mut codes = Vec::new();
        if self.admin {
            codes.extend([Unauthorized, RateLimited]);
        }
        if self.portal {
            codes.extend([InvalidToken, SessionExpired, SessionRevoked, RateLimited]);
        }
        if self.customers_only {
            codes.push(GuestSession);
        }
        if self.json_body {
            codes.extend([
                MalformedJson,
                BodyTimeout,
                PayloadTooLarge,
                UnsupportedMediaType,
                ValidationFailed,
            ]);
        }
        if self.query {
            codes.push(ValidationFailed);
        }
        if self.paged {
            codes.push(InvalidCursor);
        }
        if self.idempotent {
            codes.extend([IdempotencyKeyInUse, IdempotencyKeyReused, ValidationFailed]);
        }
        codes
    }
}

impl Modify for ErrorResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        each_operation(openapi, |path, op| {
            let implied = Shape::of(path, op).implied();
            for code in &implied {
                op.responses
                    .responses
                    .entry(code.status().to_string())
                    .or_insert_with(|| RefOr::T(Response::new("")));
            }
            for (status, response) in op.responses.responses.iter_mut() {
                let (RefOr::T(response), Ok(status)) = (response, status.parse::<u16>()) else {
                    continue;
                };
                if status < 400 {
                    if response.description.is_empty() {
                        response.description = success_description(status).to_owned();
                    }
                    continue;
                }
                let mut codes = codes_in(&response.description);
                let declared = codes.clone();
                for code in implied.iter().filter(|c| c.status() == status) {
                    if !codes.iter().any(|c| c == code.as_str()) {
                        codes.push(code.as_str().to_owned());
                    }
                }
                // A status whose handler names no code keeps no example; the spec test
                // then fails until the handler documents it.
                if codes.is_empty() {
                    codes.extend(fallback_code(status).map(|c| c.as_str().to_owned()));
                }
                response.description = describe(status, &response.description, &declared, &codes);
                response.content.insert(
                    PROBLEM_JSON.to_owned(),
                    problem_content(status, &codes).into(),
                );
            }
        });
    }
}

/// The snake_case codes named in backticks in a handler's description, in order.
fn codes_in(text: &str) -> Vec<String> {
    let mut seen = BTreeSet::new();
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        .filter(|w| seen.insert(*w))
        .map(str::to_owned)
        .collect()
}

fn describe(status: u16, given: &str, declared: &[String], codes: &[String]) -> String {
    let phrase = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    let extra: Vec<_> = codes.iter().filter(|c| !declared.contains(c)).collect();
    let list = |cs: &[&String]| crate::routes::common::either(cs.iter().map(|c| c.as_str()));
    // Every 429 tells the client when to come back.
    let after = if status == 429 {
        "; see `Retry-After`"
    } else {
        ""
    };
    match (given.trim(), extra.is_empty()) {
        ("", _) => format!(
            "{phrase}: {}{after}.",
            list(&codes.iter().collect::<Vec<_>>())
        ),
        (given, true) => format!("{phrase}: {given}"),
        (given, false) => format!("{phrase}: {given} Also {}.", list(&extra)),
    }
}

fn success_description(status: u16) -> &'static str {
    match status {
        201 => "Created.",
        204 => "Done; no content.",
        _ => "OK.",
    }
}

/// The code the server answers with for `status` when it can only mean one thing.
fn fallback_code(status: u16) -> Option<ErrorCode> {
    use ErrorCode::*;
    Some(match status {
        400 => MalformedJson,
        401 => Unauthorized,
        408 => BodyTimeout,
        413 => PayloadTooLarge,
        415 => UnsupportedMediaType,
        422 => ValidationFailed,
        429 => RateLimited,
        503 => Unavailable,
        _ => return None,
    })
}

/// A realistic problem document for `code` (as named in a handler's description), as the
/// server would send it. A name that is no `ErrorCode` still gets an example, so that the spec
/// test can point at it.
fn example_problem(status: u16, code: &str) -> serde_json::Value {
    use domain::services::portal_sessions as sessions;
    use ErrorCode::*;
    let status_code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let Some(known) = ErrorCode::parse(code) else {
        let mut p = Problem::new(BadRequest, "Not a documented code.").answered_as(status_code);
        p.code = code.to_owned();
        p.type_ = format!("urn:portal-api:problem:{code}");
        return serde_json::to_value(p).expect("problem serialises");
    };
    let detail = match known {
        MalformedJson => {
            "The body is not valid JSON: EOF while parsing an object at line 1 column 9.".to_owned()
        }
        PayloadTooLarge => "The body exceeds 1048576 bytes.".to_owned(),
        BodyTimeout => "The request body did not arrive within 30 seconds.".to_owned(),
        UnsupportedMediaType => crate::extract::NOT_JSON.to_owned(),
        Unauthorized => domain::services::api_keys::INVALID_KEY.to_owned(),
        InvalidToken => sessions::INVALID_TOKEN.to_owned(),
        SessionExpired => sessions::EXPIRED.to_owned(),
        SessionRevoked => sessions::REVOKED.to_owned(),
        RateLimited => "Too many requests; retry later.".to_owned(),
        ValidationFailed => crate::error::INVALID_FIELDS.to_owned(),
        IdempotencyKeyReused => crate::idempotency::REUSED.to_owned(),
        IdempotencyKeyInUse => crate::idempotency::IN_USE.to_owned(),
        SectionDisabled => "The invoices section is disabled for this session.".to_owned(),
        InvalidCursor => domain::page::INVALID_CURSOR.to_owned(),
        _ => match code.strip_suffix("_not_found") {
            Some(what) => format!("No such {}.", what.replace('_', " ")),
            None => {
                let words = code.replace('_', " ");
                let mut chars = words.chars();
                let first = chars.next().map(|c| c.to_ascii_uppercase()).unwrap_or(' ');
                format!("{first}{}.", chars.as_str())
            }
        },
    };
    // Under the status it is declared with: the spec test compares that with the code's own.
    let mut problem = Problem::new(known, detail).answered_as(status_code);
    if known == ValidationFailed {
        problem.errors.push(ProblemField {
            field: "limit".into(),
            message: "must be between 1 and 100".into(),
        });
    }
    serde_json::to_value(problem).expect("problem serialises")
}

fn problem_content(status: u16, codes: &[String]) -> Content {
    let mut content = Content::new(Some(Ref::from_schema_name("Problem")));
    for code in codes {
        content.examples.insert(
            code.clone(),
            ExampleBuilder::new()
                .summary(code.clone())
                .value(Some(example_problem(status, code)))
                .build()
                .into(),
        );
    }
    content
}

/// The forms the server writes the same way everywhere, given to every string property of that
/// name in one place: ids carry their prefix's pattern, currencies ISO 4217's, amounts and
/// quantities a decimal's. A malformed id in a request is still the resource's 404, so a client
/// that skips a pattern loses nothing.
struct Formats;

/// Decimal strings: exact amounts, quantities and rates (`"12.50"`, `"-3"`, `"0.002"`).
const DECIMAL: &str = "^-?[0-9]+(\\.[0-9]+)?$";
const CURRENCY: &str = "^[A-Z]{3}$";
const DECIMAL_PROPERTIES: [&str; 36] = [
    "amount",
    "amount_credited",
    "amount_due",
    "amount_off",
    "amount_paid",
    "amount_refunded",
    "balance",
    "balance_after",
    "balance_before",
    "balance_value",
    "conversion_rate",
    "credits",
    "credits_expiring_next_30_days",
    "discount_amount",
    "included_quantity",
    "limit",
    "low_balance_threshold",
    "net",
    "ongoing_balance",
    "ongoing_balance_value",
    "outstanding",
    "overdue",
    "percent_off",
    "quantity",
    "remaining",
    "subtotal",
    "threshold",
    "total",
    "total_cost",
    "total_discount",
    "total_usage",
    "unit_amount",
    "unit_price",
    "up_to",
    "usage_percent",
    "used",
];

/// The id prefix of a property: `<resource>_id` by its name, a schema's own `id` by the schema.
fn id_prefix(schema: &str, property: &str) -> Option<&'static str> {
    use domain::id;
    Some(match (property, schema) {
        ("customer_id", _) | ("id", "CustomerView" | "ProfileView") => id::CUSTOMER,
        ("invoice_id", _) | ("id", "InvoiceView") => id::INVOICE,
        ("wallet_id", _) | ("id", "WalletView") => id::WALLET,
        ("payment_id", _) | ("id", "PaymentView") => id::PAYMENT,
        ("payment_method_id", _) | ("id", "PaymentMethodView") => id::PAYMENT_METHOD,
        ("plan_id" | "pending_plan_id", _) | ("id", "PlanView") => id::PLAN,
        ("subscription_id", _) | ("id", "SubscriptionView") => id::SUBSCRIPTION,
        ("test_clock_id" | "test_clock", _) | ("id", "TestClockView") => id::TEST_CLOCK,
        ("endpoint_id", _) | ("id", "WebhookEndpointView") => id::WEBHOOK_ENDPOINT,
        ("lot_id", _) => id::CREDIT_LOT,
        ("tax_rate_id", _) | ("id", "TaxRateView") => id::TAX_RATE,
        ("coupon_id" | "retention_coupon_id", _) | ("id", "CouponView") => id::COUPON,
        ("promotion_code_id", _) | ("id", "PromotionCodeView") => id::PROMOTION_CODE,
        ("credit_note_id", _) | ("id", "CreditNoteView" | "CreditNoteSummary") => id::CREDIT_NOTE,
        ("invoice_line_id", _) | ("id", "LineView") => id::INVOICE_LINE,
        ("transaction_id", _) | ("id", "TransactionView") => id::WALLET_TX,
        ("id", "AccountView") | ("account_id", _) => id::TENANT,
        ("id", "ApiKeyView") => id::API_KEY,
        ("id", "AuditEventView") => id::AUDIT_EVENT,
        ("id", "BillingRunView") => id::BILLING_RUN,
        ("id", "FeatureView") => id::FEATURE,
        ("id", "EventView") => id::EVENT,
        ("id", "RefundView") => id::REFUND,
        ("id", "WebhookDeliveryView") => id::WEBHOOK_DELIVERY,
        ("email_id", _) | ("id", "EmailView") => id::EMAIL,
        ("alert_id", _) | ("id", "AlertView") => id::ALERT,
        ("license_key_id", _) | ("id", "LicenseKeyView" | "LicenseState") => id::LICENSE_KEY,
        ("activation_id", _) | ("id", "ActivationView") => id::ACTIVATION,
        ("id", "WebhookEventView" | "WebhookPayload") => id::WEBHOOK_EVENT,
        _ => return None,
    })
}

fn pattern_of(schema: &str, property: &str) -> Option<String> {
    // A portal session's id, or a guest session's where a guest can see it.
    if property == "session_id" || (property == "id" && schema == "SessionView") {
        return Some(format!(
            "^({}|{})_[0-9a-z]{{26}}$",
            domain::id::PORTAL_SESSION,
            domain::id::GUEST_SESSION
        ));
    }
    if let Some(prefix) = id_prefix(schema, property) {
        return Some(format!("^{prefix}_[0-9a-z]{{26}}$"));
    }
    if property == "currency" {
        return Some(CURRENCY.to_owned());
    }
    let decimal = DECIMAL_PROPERTIES.contains(&property)
        || (schema == "TransactionView" && property == "value");
    decimal.then(|| DECIMAL.to_owned())
}

impl Modify for Formats {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{ArrayItems, Schema, SchemaType, Type};
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        let is_text = |t: &SchemaType| match t {
            SchemaType::Type(t) => *t == Type::String,
            SchemaType::Array(ts) => ts.contains(&Type::String),
            SchemaType::AnyValue => false,
        };
        for (name, schema) in components.schemas.iter_mut() {
            let RefOr::T(Schema::Object(object)) = schema else {
                continue;
            };
            for (property, value) in object.properties.iter_mut() {
                // A list of ids (`tax_rate_ids`): each item has the pattern of its `_id`.
                let (property, value) = match value {
                    RefOr::T(Schema::Array(list)) if property.ends_with("_ids") => {
                        let ArrayItems::RefOrSchema(item) = &mut list.items else {
                            continue;
                        };
                        (property.trim_end_matches('s').to_owned(), item.as_mut())
                    }
                    other => (property.clone(), other),
                };
                let RefOr::T(Schema::Object(p)) = value else {
                    continue;
                };
                if !is_text(&p.schema_type) || p.enum_values.is_some() || p.pattern.is_some() {
                    continue;
                }
                p.pattern = pattern_of(name, &property);
            }
        }
    }
}
