use std::sync::Arc;

use crate::tokens::PasetoCodec;
use domain::ports::{HealthCheck, IdempotencyRepo};
use domain::services::accounts::AccountService;
use domain::services::activity::ActivityService;
use domain::services::alerts::{AlertPorts, AlertService};
use domain::services::api_keys::ApiKeyService;
use domain::services::audit::AuditService;
use domain::services::billing::{BillingPorts, BillingService};
use domain::services::credit_notes::CreditNoteService;
use domain::services::customers::CustomerService;
use domain::services::discounts::DiscountService;
use domain::services::emails::{EmailPorts, EmailService, MailingOutbox};
use domain::services::entitlements::{EntitlementPorts, EntitlementService};
use domain::services::invoices::{InvoicePorts, InvoiceService};
use domain::services::licenses::{LicensePorts, LicenseService};
use domain::services::overview::OverviewService;
use domain::services::payment_methods::PaymentMethodService;
use domain::services::payments::{PaymentPorts, PaymentService};
use domain::services::plans::PlanService;
use domain::services::portal_sessions::{PortalSessionPorts, PortalSessionService};
use domain::services::subscriptions::{SubscriptionPorts, SubscriptionService};
use domain::services::taxes::TaxService;
use domain::services::usage::{UsagePorts, UsageService};
use domain::services::wallets::WalletService;
use domain::services::webhooks::{Events, WebhookService};
use storage::Store;

use crate::limits::{LimitConfig, RateLimits};
use crate::metrics::Metrics;

/// Everything a handler needs, shared by all workers. Holds no state that decides anything
/// (all of that is in the database), so any number of nodes can serve one database.
#[derive(Clone)]
pub struct AppState {
    pub accounts: AccountService,
    pub activity: ActivityService,
    pub api_keys: ApiKeyService,
    pub customers: CustomerService,
    pub portal: PortalSessionService,
    pub audit: AuditService,
    pub wallets: WalletService,
    pub invoices: InvoiceService,
    pub payments: PaymentService,
    pub payment_methods: PaymentMethodService,
    pub usage: UsageService,
    pub plans: PlanService,
    pub subscriptions: SubscriptionService,
    pub billing: BillingService,
    pub taxes: TaxService,
    pub credit_notes: CreditNoteService,
    pub discounts: DiscountService,
    pub entitlements: EntitlementService,
    pub overview: OverviewService,
    pub webhooks: WebhookService,
    pub emails: EmailService,
    pub alerts: AlertService,
    pub licenses: LicenseService,
    pub idempotency: Arc<dyn IdempotencyRepo>,
    /// Encrypts recorded idempotent answers (they may hold new tokens and keys).
    pub sealer: Arc<PasetoCodec>,
    /// Signs list cursors (see `pagination`).
    pub cursor_key: Arc<[u8; 32]>,
    pub health: Arc<dyn HealthCheck>,
    pub store: Store,
    pub metrics: Metrics,
    pub max_body_bytes: usize,
    pub limits: Arc<RateLimits>,
    /// Origins allowed to call portal routes from a browser.
    pub cors_origins: Arc<Vec<String>>,
    /// Whether `/portal/` serves the hosted customer portal.
    pub hosted_portal: bool,
    pub billing_every: Option<std::time::Duration>,
    pub billing_concurrency: usize,
    /// The webhook worker on this node; `None`: off.
    pub webhook_worker: Option<crate::webhooks::WorkerSettings>,
    /// How this server sends e-mail; `None`: no SMTP server configured.
    pub mail: Option<crate::mail::MailSettings>,
    /// The background workers, stopped after the HTTP server on shutdown.
    pub workers: crate::workers::Workers,
    /// How long a shutdown may take (the HTTP server's, then the workers').
    pub shutdown_timeout: std::time::Duration,
}

impl AppState {
    pub fn new(store: Store, tokens: Arc<PasetoCodec>, settings: Settings) -> Self {
        let shared = Arc::new(store.clone());
        // Every change's webhook events go to the outbox in the change's own transaction, with
        // the e-mails they bring.
        let emails = EmailService::new(
            EmailPorts {
                emails: shared.clone(),
                customers: shared.clone(),
                accounts: shared.clone(),
                units: shared.clone(),
                sealer: tokens.clone(),
                wording: Arc::new(crate::i18n::Catalogues),
            },
            settings.mail.is_some(),
        );
        let mailing = Events::new(Arc::new(MailingOutbox {
            events: shared.clone(),
            mail: emails.clone(),
        }));
        // Customers' alerts fire in the transactions that cross them: usage recorded (through
        // the usage service), an invoice issued or a ledger movement (through the events
        // every such change sends).
        let alerts = AlertService::new(AlertPorts {
            alerts: shared.clone(),
            customers: shared.clone(),
            usage: shared.clone(),
            audit: shared.clone(),
            units: shared.clone(),
            events: mailing.clone(),
        });
        let events = mailing.with_alerts(alerts.clone());
        // What usage has accrued: wallets' ongoing balance, and its low-balance alerts.
        let accrual = domain::services::accrual::Accrual {
            dashboard: shared.clone(),
            wallets: shared.clone(),
            events: events.clone(),
        };
        let wallets = WalletService::new(
            shared.clone(),
            shared.clone(),
            shared.clone(),
            events.clone(),
            accrual.clone(),
        );
        let payments = PaymentService::new(PaymentPorts {
            payments: shared.clone(),
            customers: shared.clone(),
            subscriptions: shared.clone(),
            invoices: shared.clone(),
            wallets: shared.clone(),
            methods: shared.clone(),
            accounts: shared.clone(),
            audit: shared.clone(),
            units: shared.clone(),
            events: events.clone(),
        });
        let taxes = TaxService::new(shared.clone(), shared.clone());
        let invoices = InvoiceService::new(InvoicePorts {
            invoices: shared.clone(),
            customers: shared.clone(),
            payments: shared.clone(),
            units: shared.clone(),
            audit: shared.clone(),
            collector: payments.clone(),
            events: events.clone(),
            taxes: taxes.clone(),
        });
        let billing = BillingService::new(
            BillingPorts {
                subscriptions: shared.clone(),
                plans: shared.clone(),
                customers: shared.clone(),
                usage: shared.clone(),
                invoices: shared.clone(),
                wallets: shared.clone(),
                clocks: shared.clone(),
                runs: shared.clone(),
                units: shared.clone(),
                events: events.clone(),
            },
            payments.clone(),
            taxes.clone(),
        );
        let licenses = LicenseService::new(LicensePorts {
            licenses: shared.clone(),
            customers: shared.clone(),
            audit: shared.clone(),
            units: shared.clone(),
            sealer: tokens.clone(),
            events: events.clone(),
        });
        let subscriptions = SubscriptionService::new(SubscriptionPorts {
            subscriptions: shared.clone(),
            plans: shared.clone(),
            customers: shared.clone(),
            wallets: shared.clone(),
            audit: shared.clone(),
            units: shared.clone(),
            discounts: shared.clone(),
            invoices: shared.clone(),
            accounts: shared.clone(),
            usage: shared.clone(),
            billing: billing.clone(),
            events: events.clone(),
            licenses: licenses.clone(),
        });
        let usage = UsageService::new(
            UsagePorts {
                repo: shared.clone(),
                customers: shared.clone(),
                clocks: shared.clone(),
                subscriptions: shared.clone(),
                units: shared.clone(),
                accrual: accrual.clone(),
                alerts: alerts.clone(),
            },
            chrono::Duration::days(settings.event_max_age_days),
        );
        Self {
            overview: OverviewService::new(shared.clone(), wallets.clone()),
            wallets,
            invoices,
            usage: usage.clone(),
            accounts: AccountService::new(shared.clone(), shared.clone(), taxes.clone()),
            activity: ActivityService::new(shared.clone(), shared.clone()),
            api_keys: ApiKeyService::new(shared.clone()),
            customers: CustomerService::new(
                shared.clone(),
                shared.clone(),
                shared.clone(),
                shared.clone(),
                shared.clone(),
                events.clone(),
                taxes.clone(),
            ),
            portal: PortalSessionService::new(
                PortalSessionPorts {
                    sessions: shared.clone(),
                    guests: shared.clone(),
                    customers: shared.clone(),
                    accounts: shared.clone(),
                    audit: shared.clone(),
                    units: shared.clone(),
                    tokens: tokens.clone(),
                    events: events.clone(),
                    emails: emails.clone(),
                },
                settings.url_base,
            ),
            audit: AuditService::new(shared.clone()),
            payments,
            payment_methods: PaymentMethodService::new(
                shared.clone(),
                shared.clone(),
                shared.clone(),
                shared.clone(),
                shared.clone(),
            ),
            billing,
            plans: PlanService::new(
                shared.clone(),
                shared.clone(),
                shared.clone(),
                taxes.clone(),
            ),
            taxes,
            discounts: DiscountService::new(shared.clone(), shared.clone(), shared.clone()),
            credit_notes: CreditNoteService::new(
                shared.clone(),
                shared.clone(),
                shared.clone(),
                shared.clone(),
                events.clone(),
            ),
            subscriptions,
            entitlements: EntitlementService::new(EntitlementPorts {
                subscriptions: shared.clone(),
                plans: shared.clone(),
                usage: shared.clone(),
                customers: shared.clone(),
                units: shared.clone(),
                ingestion: usage.clone(),
                events: events.clone(),
            }),
            webhooks: WebhookService::new(
                shared.clone(),
                shared.clone(),
                settings.webhooks_allow_insecure,
            ),
            emails,
            alerts,
            licenses,
            idempotency: shared.clone(),
            cursor_key: Arc::new(tokens.derive_key("portal-api:list-cursors")),
            sealer: tokens,
            health: shared,
            metrics: Metrics::new(),
            store,
            max_body_bytes: settings.max_body_bytes,
            limits: Arc::new(RateLimits::new(settings.limits)),
            cors_origins: Arc::new(settings.cors_origins),
            hosted_portal: settings.hosted_portal,
            billing_every: settings.billing_every,
            billing_concurrency: settings.billing_concurrency.max(1),
            webhook_worker: settings.webhook_worker,
            mail: settings.mail,
            workers: crate::workers::Workers::default(),
            shutdown_timeout: settings.shutdown_timeout,
        }
    }
}

/// The HTTP-level settings the state carries.
pub struct Settings {
    pub url_base: String,
    pub hosted_portal: bool,
    pub event_max_age_days: i64,
    pub max_body_bytes: usize,
    pub limits: LimitConfig,
    pub cors_origins: Vec<String>,
    /// How often the billing worker runs; `None`: not on this node.
    pub billing_every: Option<std::time::Duration>,
    /// Billing drains run at once in each pass.
    pub billing_concurrency: usize,
    /// `http` and private webhook targets allowed.
    pub webhooks_allow_insecure: bool,
    /// The webhook worker on this node; `None`: off.
    pub webhook_worker: Option<crate::webhooks::WorkerSettings>,
    /// How this server sends e-mail; `None`: no SMTP server configured.
    pub mail: Option<crate::mail::MailSettings>,
    pub shutdown_timeout: std::time::Duration,
}
