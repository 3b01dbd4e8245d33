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

/// Declares [`ErrorCode`]: each variant with its stable text and the HTTP status it answers with.
macro_rules! error_codes {
    ($($variant:ident = $text:literal, $status:literal;)*) => {
        /// Every `code` the API answers with, in one place: the stable snake_case text clients
        /// branch on, and the HTTP status that goes with it. New codes are added here, and the
        /// spec tests fail until each one is used and documented.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($variant,)*
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $text,)*
                }
            }

            pub fn status(self) -> u16 {
                match self {
                    $(ErrorCode::$variant => $status,)*
                }
            }
        }
    };
}

error_codes! {
    MalformedJson = "malformed_json", 400;
    MalformedBody = "malformed_body", 400;
    InvalidCursor = "invalid_cursor", 400;
    BadRequest = "bad_request", 400;
    Unauthorized = "unauthorized", 401;
    InvalidToken = "invalid_token", 401;
    SessionExpired = "session_expired", 401;
    SessionRevoked = "session_revoked", 401;
    InvalidLoginCode = "invalid_login_code", 401;
    SectionDisabled = "section_disabled", 403;
    ReadOnlySession = "read_only_session", 403;
    ActionNotAllowed = "action_not_allowed", 403;
    GuestSession = "guest_session", 403;
    FieldNotAllowed = "field_not_allowed", 403;
    RouteNotFound = "route_not_found", 404;
    CustomerNotFound = "customer_not_found", 404;
    WalletNotFound = "wallet_not_found", 404;
    InvoiceNotFound = "invoice_not_found", 404;
    PaymentNotFound = "payment_not_found", 404;
    FeatureNotFound = "feature_not_found", 404;
    PortalSessionNotFound = "portal_session_not_found", 404;
    ApiKeyNotFound = "api_key_not_found", 404;
    PlanNotFound = "plan_not_found", 404;
    SubscriptionNotFound = "subscription_not_found", 404;
    TestClockNotFound = "test_clock_not_found", 404;
    PaymentMethodNotFound = "payment_method_not_found", 404;
    WebhookEndpointNotFound = "webhook_endpoint_not_found", 404;
    WebhookEventNotFound = "webhook_event_not_found", 404;
    WebhookDeliveryNotFound = "webhook_delivery_not_found", 404;
    TaxRateNotFound = "tax_rate_not_found", 404;
    CreditNoteNotFound = "credit_note_not_found", 404;
    CouponNotFound = "coupon_not_found", 404;
    PromotionCodeNotFound = "promotion_code_not_found", 404;
    DiscountNotFound = "discount_not_found", 404;
    EmailNotFound = "email_not_found", 404;
    AlertNotFound = "alert_not_found", 404;
    LicenseKeyNotFound = "license_key_not_found", 404;
    ActivationNotFound = "activation_not_found", 404;
    MethodNotAllowed = "method_not_allowed", 405;
    BodyTimeout = "body_timeout", 408;
    CustomerArchived = "customer_archived", 409;
    CustomerHasSubscriptions = "customer_has_subscriptions", 409;
    ExternalIdTaken = "external_id_taken", 409;
    FeatureKeyTaken = "feature_key_taken", 409;
    PlanCodeTaken = "plan_code_taken", 409;
    PromotionCodeTaken = "promotion_code_taken", 409;
    RetentionOfferUnavailable = "retention_offer_unavailable", 409;
    SubscriptionEnded = "subscription_ended", 409;
    PlanArchived = "plan_archived", 409;
    TestClockAdvancing = "test_clock_advancing", 409;
    IdempotencyKeyInUse = "idempotency_key_in_use", 409;
    InvoiceHasPayments = "invoice_has_payments", 409;
    InvoiceNotDraft = "invoice_not_draft", 409;
    InvoiceNotFinalized = "invoice_not_finalized", 409;
    InvoiceNotPayable = "invoice_not_payable", 409;
    InvoiceHasCreditNotes = "invoice_has_credit_notes", 409;
    InvoiceAlreadyRevised = "invoice_already_revised", 409;
    CreditNoteNotVoidable = "credit_note_not_voidable", 409;
    LastActiveKey = "last_active_key", 409;
    PaymentMethodUnusable = "payment_method_unusable", 409;
    PaymentMethodInUse = "payment_method_in_use", 409;
    PaymentMethodSetupUnavailable = "payment_method_setup_unavailable", 409;
    PaymentNotRefundable = "payment_not_refundable", 409;
    PaymentNotPending = "payment_not_pending", 409;
    PaymentPending = "payment_pending", 409;
    OnlinePaymentUnavailable = "online_payment_unavailable", 409;
    WalletClosed = "wallet_closed", 409;
    WebhookEndpointDisabled = "webhook_endpoint_disabled", 409;
    WalletFrozen = "wallet_frozen", 409;
    EventIdReused = "event_id_reused", 409;
    EmailNotRetryable = "email_not_retryable", 409;
    AlertLimitReached = "alert_limit_reached", 409;
    PlanContactSales = "plan_contact_sales", 409;
    ActivationLimitReached = "activation_limit_reached", 409;
    EmailDisabled = "email_disabled", 409;
    CustomerHasNoEmail = "customer_has_no_email", 409;
    PayloadTooLarge = "payload_too_large", 413;
    UriTooLong = "uri_too_long", 414;
    UnsupportedMediaType = "unsupported_media_type", 415;
    CurrencyMismatch = "currency_mismatch", 422;
    EventRejected = "event_rejected", 422;
    IdempotencyKeyReused = "idempotency_key_reused", 422;
    InsufficientCredits = "insufficient_credits", 422;
    InvoiceEmpty = "invoice_empty", 422;
    LicenseInvalid = "license_invalid", 422;
    Overpayment = "overpayment", 422;
    RefundExceedsPayment = "refund_exceeds_payment", 422;
    ValidationFailed = "validation_failed", 422;
    RateLimited = "rate_limited", 429;
    HeadersTooLarge = "headers_too_large", 431;
    InternalError = "internal_error", 500;
    Unavailable = "unavailable", 503;
}

impl ErrorCode {
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.as_str() == text)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The object does not exist *for this tenant* (another tenant's object looks the same).
    #[error("{resource} not found")]
    NotFound {
        resource: &'static str,
        code: ErrorCode,
    },
    /// The request is well-formed but conflicts with stored state (e.g. a duplicate external_id).
    #[error("{message}")]
    Conflict { code: ErrorCode, message: String },
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// Well-formed and valid, but the state of things does not allow it (e.g. not enough
    /// credits). Nothing was changed.
    #[error("{message}")]
    Unprocessable { code: ErrorCode, message: String },
    /// Missing, malformed, unknown, expired or revoked credentials.
    #[error("{message}")]
    Unauthenticated {
        code: ErrorCode,
        message: &'static str,
    },
    /// Authenticated, but this action is not allowed to this caller.
    #[error("{message}")]
    Forbidden { code: ErrorCode, message: String },
    /// The request itself is unusable as sent (e.g. a cursor not issued for this list).
    #[error("{message}")]
    BadRequest { code: ErrorCode, message: String },
    /// A presented credential the request names in a field was refused, with a stable reason
    /// the caller may branch on (e.g. a license key that is disabled).
    #[error("{message}")]
    Refused {
        code: ErrorCode,
        field: &'static str,
        reason: &'static str,
        message: String,
    },
    /// Storage or other infrastructure failure; the message is logged, never sent to clients.
    #[error("internal error: {0}")]
    Internal(String),
    /// A wallet change needs live lots its partial load does not hold (see
    /// [`crate::ports::PartialLots`]): the repository loads every live lot and runs the change
    /// again. It never leaves the repository.
    #[error("the wallet change needs every live lot")]
    WalletLotsNeeded,
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

/// Reports a text field that is blank, longer than `max` characters, or holds control
/// characters (newlines allowed when `multiline`). `None` is fine.
/// `value` when nothing is wrong, else the 422 naming every field in `errs`.
pub(crate) fn finish<T>(errs: Vec<FieldError>, value: T) -> DomainResult<T> {
    if errs.is_empty() {
        Ok(value)
    } else {
        Err(DomainError::Validation(errs))
    }
}

pub(crate) fn check_text(
    errors: &mut Vec<FieldError>,
    field: &str,
    value: Option<&String>,
    max: usize,
    multiline: bool,
) {
    let Some(v) = value else { return };
    if v.trim().is_empty() {
        errors.push(FieldError::new(field, "must not be blank"));
    } else if v.chars().count() > max {
        errors.push(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    } else if v
        .chars()
        .any(|c| c.is_control() && !(multiline && c == '\n'))
    {
        errors.push(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
}
