//! Ports: what the domain needs from storage. Implemented by the `storage` crate's diesel
//! repositories. Calls block; the api crate runs them off the async executor.

use chrono::{DateTime, Utc};

use crate::api_key::{ApiKey, StoredKey};
use crate::audit::{AuditEvent, AuditFilter};
use crate::customer::CustomerChange;
use crate::customer::{Customer, CustomerFilter, CustomerStatus};
use crate::idempotency::{Answer, Claim, Once};
use crate::invoice::InvoiceChange;
use crate::invoice::InvoiceFilter;
use crate::page::{Page, PageRequest};
use crate::payment::PaymentChange;
use crate::payment::PaymentFilter;
use crate::payment::RefundChange;
use crate::payment_method::MethodFilter;
use crate::plan::PlanFilter;
use crate::portal_session::{EndReason, PortalSession};
use crate::scope::{CustomerScope, Scope};
use crate::subscription::SubscriptionChange;
use crate::subscription::SubscriptionFilter;
use crate::usage::EventFilter;
use crate::wallet::TxFilter;
use crate::wallet::WalletChange;
use crate::wallet::WalletState;
use crate::DomainResult;

/// The customer dashboard's read model: the customer's wallets, running subscriptions with
/// their plans and usage counters, and the account's features in one statement (what a wallet's
/// accrued usage is priced from); with `chart`, a second statement adds the open invoices and
/// the hourly usage rollups in `[from, to)` (the rest of the overview). Each part is narrowed to
/// the customer (the account's features and plans to the account).
pub trait DashboardRepo: Send + Sync {
    /// `None` when the customer is not in the account.
    fn dashboard(
        &self,
        customer: &CustomerScope,
        chart: Option<(DateTime<Utc>, DateTime<Utc>)>,
    ) -> DomainResult<Option<crate::dashboard::DashboardReads>>;
}

pub trait ApiKeyRepo: Send + Sync {
    /// Creates a tenant with its first key. With `only_if_empty`, does so if, and only if, no
    /// tenant exists yet (safe when several nodes start at once). Returns whether it did.
    fn create_tenant(
        &self,
        tenant_id: &crate::id::TenantId,
        tenant_name: &str,
        key: &ApiKey,
        secret_hash: &str,
        only_if_empty: bool,
    ) -> DomainResult<bool>;
    fn insert(&self, key: &ApiKey, secret_hash: &str) -> DomainResult<()>;
    /// Every key with this lookup prefix, in any account. The prefix is unique per account only
    /// (a key is distributed with its account), so the caller checks each candidate's secret.
    fn find_by_prefix(&self, prefix: &str) -> DomainResult<Vec<StoredKey>>;
    /// Records use at most once a minute per key, to keep authentication read-only.
    fn touch(
        &self,
        tenant_id: &crate::id::TenantId,
        key_id: &crate::id::ApiKeyId,
        now: DateTime<Utc>,
    ) -> DomainResult<()>;
    fn list(
        &self,
        tenant_id: &crate::id::TenantId,
        page: &PageRequest,
    ) -> DomainResult<Page<ApiKey>>;
    fn get(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &crate::id::ApiKeyId,
    ) -> DomainResult<Option<ApiKey>>;
    /// Revokes a key unless it is the tenant's last active one. Atomic.
    fn revoke(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &crate::id::ApiKeyId,
        now: DateTime<Utc>,
    ) -> DomainResult<ApiKey>;
    /// Ids of all tenants (for the CLI).
    fn tenant_ids(&self) -> DomainResult<Vec<crate::id::TenantId>>;
}

pub trait CustomerRepo: Send + Sync {
    /// Inserts; a duplicate `external_id` in the tenant → `Conflict(external_id_taken)`.
    fn insert(&self, customer: &Customer) -> DomainResult<()>;
    fn get(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &crate::id::CustomerId,
    ) -> DomainResult<Option<Customer>>;
    /// Reads the customer and locks it until the unit of work ends (what archiving locks too,
    /// so a subscription cannot start on a customer being archived).
    fn lock(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &crate::id::CustomerId,
    ) -> DomainResult<Option<Customer>>;
    fn get_by_external_id(
        &self,
        tenant_id: &crate::id::TenantId,
        external_id: &str,
    ) -> DomainResult<Option<Customer>>;
    /// Locks the customer, applies `change` and writes it back, in one transaction.
    fn update(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &crate::id::CustomerId,
        change: CustomerChange<'_>,
    ) -> DomainResult<Customer>;
    fn list(
        &self,
        tenant_id: &crate::id::TenantId,
        filter: &CustomerFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<Customer>>;
}

/// Makes several repository calls one transaction.
pub trait UnitOfWork: Send + Sync {
    /// Runs `work`: every repository call it makes on the calling thread joins one transaction,
    /// which commits if `work` succeeds and rolls back otherwise (a crash included).
    fn atomically(&self, work: &mut dyn FnMut() -> DomainResult<()>) -> DomainResult<()>;
    /// Inside a unit of work: runs `work` so that, if it fails, only its own effects are undone
    /// and the unit goes on (a savepoint). Outside one, the same as `atomically`.
    fn attempt(&self, work: &mut dyn FnMut() -> DomainResult<()>) -> DomainResult<()>;
}

impl dyn UnitOfWork {
    /// [`UnitOfWork::atomically`] for work with a result: the result once committed.
    pub fn run<T>(&self, work: &mut dyn FnMut() -> DomainResult<T>) -> DomainResult<T> {
        let mut done = None;
        self.atomically(&mut || {
            done = Some(work()?);
            Ok(())
        })?;
        done.ok_or_else(|| crate::DomainError::internal("unit of work returned without a result"))
    }
}

pub trait IdempotencyRepo: Send + Sync {
    /// Runs `work` at most once per key. Claims `claim.key`, runs `work` and records its answer
    /// in one transaction, which every repository call `work` makes on the calling thread joins;
    /// a refusal's partial effects are undone but its answer is kept. A key already answered
    /// replays, one used for another request is a mismatch, one held by a running request is in
    /// progress. When `work` fails (`Err`), nothing is recorded and nothing it did remains.
    fn run_once(
        &self,
        claim: &Claim,
        work: &mut dyn FnMut() -> DomainResult<Answer>,
    ) -> DomainResult<Once>;
    /// Deletes records created before `before` (past retention); returns how many.
    fn purge(&self, before: DateTime<Utc>) -> DomainResult<usize>;
}

/// Liveness of the storage, for `/readyz`, and the workers' backlogs, for `/metrics`.
pub trait HealthCheck: Send + Sync {
    fn ping(&self) -> DomainResult<()>;
    /// Each queue's pending work as of `now` (one indexed count and minimum per queue).
    fn backlogs(&self, now: DateTime<Utc>) -> DomainResult<Vec<crate::health::Backlog>>;
}

pub trait GuestSessionRepo: Send + Sync {
    /// The account of the guest session a login code opens (used or not), if any.
    fn tenant_of_code(&self, code_hash: &str) -> DomainResult<Option<crate::id::TenantId>>;
    /// Inserts a guest session with the digest of its login code.
    fn create(
        &self,
        session: &crate::guest_session::GuestSession,
        login_code_hash: &str,
        code_expires_at: DateTime<Utc>,
    ) -> DomainResult<()>;
    fn get(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &crate::id::GuestSessionId,
    ) -> DomainResult<Option<crate::guest_session::GuestSession>>;
    /// Ends a guest session unless already ended; returns it as stored afterwards.
    fn end(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &crate::id::GuestSessionId,
        reason: crate::portal_session::EndReason,
        now: DateTime<Utc>,
    ) -> DomainResult<Option<crate::guest_session::GuestSession>>;
    /// Marks an unused, unexpired login code as used and returns its session (exactly one of
    /// any number of concurrent calls gets `Some`).
    fn redeem_code(
        &self,
        code_hash: &str,
        now: DateTime<Utc>,
    ) -> DomainResult<Option<crate::guest_session::GuestSession>>;
}

pub trait PortalSessionRepo: Send + Sync {
    /// The account of the session a login code opens (used or not), if any.
    fn tenant_of_code(&self, code_hash: &str) -> DomainResult<Option<crate::id::TenantId>>;
    /// Inserts a session with the digest of its login code. With `supersede`, the customer's
    /// other open sessions end (reason `superseded`) in the same transaction, serialised per
    /// customer so that two racing creations leave exactly one open session.
    fn create(
        &self,
        session: &PortalSession,
        login_code_hash: &str,
        code_expires_at: DateTime<Utc>,
        supersede: bool,
    ) -> DomainResult<()>;
    /// The session and its customer's status.
    fn get(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &crate::id::PortalSessionId,
    ) -> DomainResult<Option<(PortalSession, CustomerStatus)>>;
    /// Open (not ended, not expired) sessions of a customer, newest first.
    fn list_open(
        &self,
        tenant_id: &crate::id::TenantId,
        customer_id: &crate::id::CustomerId,
        now: DateTime<Utc>,
        page: &PageRequest,
    ) -> DomainResult<Page<PortalSession>>;
    /// Ends a session unless already ended; returns it as stored afterwards.
    fn end(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &crate::id::PortalSessionId,
        reason: EndReason,
        now: DateTime<Utc>,
    ) -> DomainResult<Option<PortalSession>>;
    /// Marks an unused, unexpired login code as used and returns its session. Exactly one of
    /// any number of concurrent calls with the same code gets `Some`.
    fn redeem_code(
        &self,
        code_hash: &str,
        now: DateTime<Utc>,
    ) -> DomainResult<Option<PortalSession>>;
    /// Moves `last_seen_at` forward (sliding idle expiry).
    fn touch(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &crate::id::PortalSessionId,
        now: DateTime<Utc>,
    ) -> DomainResult<()>;
}

pub trait AuditRepo: Send + Sync {
    fn record(&self, event: &AuditEvent) -> DomainResult<()>;
    fn list(
        &self,
        tenant_id: &crate::id::TenantId,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<AuditEvent>>;
}

pub trait WalletRepo: Send + Sync {
    fn insert(&self, wallet: &crate::wallet::Wallet) -> DomainResult<()>;
    /// The wallet and when its next lot expires.
    fn get(
        &self,
        scope: &Scope,
        id: &crate::id::WalletId,
    ) -> DomainResult<Option<(crate::wallet::Wallet, Option<DateTime<Utc>>)>>;
    /// The scope's wallets; `customer_id` narrows an account scope to one customer.
    fn list(
        &self,
        scope: &Scope,
        customer_id: Option<&crate::id::CustomerId>,
        page: &PageRequest,
    ) -> DomainResult<Page<(crate::wallet::Wallet, Option<DateTime<Utc>>)>>;
    /// Locks the wallet (row lock on PostgreSQL, `BEGIN IMMEDIATE` on SQLite), runs `change`,
    /// and persists the result atomically; nothing is written if `change` fails.
    fn change(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &crate::id::WalletId,
        change: WalletChange<'_>,
    ) -> DomainResult<WalletState>;
    fn live_lots(
        &self,
        tenant_id: &crate::id::TenantId,
        wallet_id: &crate::id::WalletId,
    ) -> DomainResult<Vec<crate::wallet::CreditLot>>;
    /// A page of the ledger of a wallet in `scope`, in one read (the wallet joined, so the scope
    /// is checked by the same statement), with the wallet's next credit expiry as stored. An
    /// empty page has no expiry: the wallet may then be out of scope, or have no such entries.
    fn transactions(
        &self,
        scope: &Scope,
        wallet_id: &crate::id::WalletId,
        filter: &TxFilter,
        page: &PageRequest,
    ) -> DomainResult<(
        Page<crate::wallet::WalletTransaction>,
        Option<chrono::DateTime<chrono::Utc>>,
    )>;
    /// Checks up to `limit` of the wallets flagged for a check of their lots (migration 000020):
    /// each is locked and loaded whole, which rewrites lots that disagree with the ledger (see
    /// the storage adapter's `repair_lots`), then unflagged. Returns how many were checked.
    fn check_flagged_lots(&self, limit: i64) -> DomainResult<usize>;
    /// The customers' active wallets that have a low-balance threshold, locked until the
    /// caller's unit of work ends (PostgreSQL: the rows, in id order; SQLite: the write lock it
    /// holds): what accepted usage is compared with (`crate::services::accrual`).
    fn lock_watched(
        &self,
        tenant_id: &crate::id::TenantId,
        customers: &[crate::id::CustomerId],
    ) -> DomainResult<Vec<crate::wallet::Wallet>>;
    /// (tenant, wallet) pairs with a lot past its expiry, for the sweeper.
    fn due_for_expiry(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> DomainResult<Vec<(crate::id::TenantId, crate::id::WalletId)>>;
}

pub trait InvoiceRepo: Send + Sync {
    fn insert(&self, invoice: &crate::invoice::Invoice) -> DomainResult<()>;
    /// Takes the next numbers of `period` for the account, one per invoice in `ids` in that
    /// order, and gives them to the invoices, in the caller's unit of work (one counter update
    /// for all). The counter's row stays locked until the unit ends (numbers are gapless), so
    /// billing does this last, just before its commit.
    fn assign_numbers(
        &self,
        tenant_id: &crate::id::TenantId,
        ids: &[crate::id::InvoiceId],
        period: &str,
        format: &dyn Fn(i64) -> String,
    ) -> DomainResult<Vec<String>>;
    fn get(
        &self,
        scope: &Scope,
        id: &crate::id::InvoiceId,
    ) -> DomainResult<Option<crate::invoice::Invoice>>;
    /// [`InvoiceRepo::get`] with the invoice's credit notes (oldest first), in one read.
    fn get_with_credit_notes(
        &self,
        scope: &Scope,
        id: &crate::id::InvoiceId,
    ) -> DomainResult<Option<(crate::invoice::Invoice, Vec<crate::credit_note::CreditNote>)>>;
    /// Locks the invoice, runs `change` (which may take invoice numbers) and writes the result,
    /// all in one transaction.
    fn change(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &crate::id::InvoiceId,
        change: InvoiceChange<'_>,
    ) -> DomainResult<crate::invoice::Invoice>;
    /// Deletes a draft (only a draft).
    fn delete_draft(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &crate::id::InvoiceId,
    ) -> DomainResult<bool>;
    fn list(
        &self,
        scope: &Scope,
        filter: &InvoiceFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<crate::invoice::Invoice>>;
    /// Whether the customer has paid any invoice with something to pay, in part or whole.
    fn has_paid(&self, customer: &CustomerScope) -> DomainResult<bool>;
    /// Finalized invoices of a customer with something left to pay.
    fn open_invoices(&self, customer: &CustomerScope)
        -> DomainResult<Vec<crate::invoice::Invoice>>;
    /// The same invoices, only what they owe and when it was due (for the outstanding figures,
    /// which the dashboard reads on every view: no lines to decode).
    fn open_amounts(
        &self,
        customer: &CustomerScope,
    ) -> DomainResult<Vec<crate::invoice::OpenAmount>>;
}

pub trait PaymentRepo: Send + Sync {
    /// One transaction: lock the invoice, then the wallet (if any), run `change`, write the
    /// invoice, the wallet's ledger and the payment.
    fn record_payment(
        &self,
        tenant_id: &crate::id::TenantId,
        invoice_id: &crate::id::InvoiceId,
        wallet_id: Option<&crate::id::WalletId>,
        change: PaymentChange<'_>,
    ) -> DomainResult<(crate::invoice::Invoice, crate::payment::Payment)>;
    /// One transaction: lock the payment, its invoice, its wallet (if any), run `change`, write all.
    fn record_refund(
        &self,
        tenant_id: &crate::id::TenantId,
        payment_id: &crate::id::PaymentId,
        change: RefundChange<'_>,
    ) -> DomainResult<(crate::payment::Payment, crate::payment::Refund)>;
    /// Fails the invoice's pending payment, if any, with `reason` (inside the caller's unit of
    /// work, which holds the invoice locked). Returns how many failed.
    /// Locks the invoice's succeeded payments with something left to refund, newest first,
    /// in the caller's unit of work (before the invoice: the order a refund takes them in).
    fn lock_refundable(
        &self,
        tenant_id: &crate::id::TenantId,
        invoice_id: &crate::id::InvoiceId,
    ) -> DomainResult<Vec<crate::payment::Payment>>;
    fn fail_pending(
        &self,
        tenant_id: &crate::id::TenantId,
        invoice_id: &crate::id::InvoiceId,
        reason: &str,
    ) -> DomainResult<usize>;
    /// One transaction: lock the payment, then its invoice, run `change`, write both.
    fn settle_payment(
        &self,
        tenant_id: &crate::id::TenantId,
        payment_id: &crate::id::PaymentId,
        change: &mut dyn FnMut(
            &mut crate::payment::Payment,
            &mut crate::invoice::Invoice,
        ) -> DomainResult<()>,
    ) -> DomainResult<(crate::invoice::Invoice, crate::payment::Payment)>;
    fn get(
        &self,
        scope: &Scope,
        id: &crate::id::PaymentId,
    ) -> DomainResult<Option<crate::payment::Payment>>;
    fn list(
        &self,
        scope: &Scope,
        filter: &PaymentFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<crate::payment::Payment>>;
}

pub trait UsageRepo: Send + Sync {
    /// A duplicate key in the account → `Conflict(feature_key_taken)`.
    fn insert_feature(&self, feature: &crate::usage::Feature) -> DomainResult<()>;
    fn update_feature(&self, feature: &crate::usage::Feature) -> DomainResult<()>;
    fn get_feature(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &crate::id::FeatureId,
    ) -> DomainResult<Option<crate::usage::Feature>>;
    /// Every feature of the account (archived included), for ingestion and analytics.
    fn features(&self, tenant_id: &crate::id::TenantId)
        -> DomainResult<Vec<crate::usage::Feature>>;
    fn list_features(
        &self,
        tenant_id: &crate::id::TenantId,
        page: &PageRequest,
    ) -> DomainResult<Page<crate::usage::Feature>>;
    /// Stores the events whose `event_id` is new to the account and adds exactly those to the
    /// hourly rollups, all in one transaction. Returns, per event, whether it was new.
    fn ingest(
        &self,
        tenant_id: &crate::id::TenantId,
        events: &[crate::usage::UsageEvent],
    ) -> DomainResult<Vec<bool>>;
    fn events(
        &self,
        tenant_id: &crate::id::TenantId,
        filter: &EventFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<crate::usage::UsageEvent>>;
    /// The event the account recorded with this `event_id`, if any.
    fn recorded_event(
        &self,
        tenant_id: &crate::id::TenantId,
        dedupe_key: &str,
    ) -> DomainResult<Option<crate::usage::UsageEvent>>;
    /// What a check of `feature` needs (see [`crate::usage::CheckView`]), in one statement;
    /// `None`: the customer is not in the account.
    fn check_view(
        &self,
        customer: &CustomerScope,
        feature: &str,
    ) -> DomainResult<Option<crate::usage::CheckView>>;
    /// The customer's counters of the periods starting at `starts` (one statement).
    fn counters(
        &self,
        tenant_id: &crate::id::TenantId,
        customer_id: &crate::id::CustomerId,
        starts: &[DateTime<Utc>],
    ) -> DomainResult<Vec<crate::usage::Counter>>;
    /// The counter of (customer, feature, period), created at zero if missing, locked until the
    /// caller's transaction ends (PostgreSQL: the row; SQLite: the write lock it holds): what
    /// an atomic consume reads before it decides.
    fn lock_counter(
        &self,
        tenant_id: &crate::id::TenantId,
        customer_id: &crate::id::CustomerId,
        feature_key: &str,
        period: crate::usage::CounterPeriod,
    ) -> DomainResult<crate::usage::Counter>;
    /// Marks the counter's period as refused by a hard limit at `at`; `true` the first time
    /// only (what sends `entitlement.limit_reached` once per period).
    fn mark_limit_reached(
        &self,
        tenant_id: &crate::id::TenantId,
        customer_id: &crate::id::CustomerId,
        feature_key: &str,
        period_start: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> DomainResult<bool>;
    /// Sets each counter of the customer's `periods` to what the rollups of its hours make
    /// (a counter with no rollups is removed): seeding a new subscription's first period.
    fn recount(
        &self,
        tenant_id: &crate::id::TenantId,
        customer_id: &crate::id::CustomerId,
        periods: &[crate::usage::CounterPeriod],
    ) -> DomainResult<()>;
    /// Compares every stored counter with the rollups of its hours, mends those that differ
    /// and reports them (the admin command `rebuild-counters`).
    fn rebuild_counters(&self) -> DomainResult<Vec<crate::usage::CounterDrift>>;
    /// Rollups of one customer with `from <= hour < to`.
    fn rollups(
        &self,
        tenant_id: &crate::id::TenantId,
        customer_id: &crate::id::CustomerId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> DomainResult<Vec<crate::usage::Rollup>>;
}

pub trait PlanRepo: Send + Sync {
    /// 409 `plan_code_taken` when the account already has the code.
    fn insert(&self, plan: &crate::plan::Plan) -> DomainResult<()>;
    fn get(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &crate::id::PlanId,
    ) -> DomainResult<Option<crate::plan::Plan>>;
    /// The account's plans with these ids, in one read (any order; unknown ids are left out).
    fn get_many(
        &self,
        tenant_id: &crate::id::TenantId,
        ids: &[crate::id::PlanId],
    ) -> DomainResult<Vec<crate::plan::Plan>>;
    fn get_by_code(
        &self,
        tenant_id: &crate::id::TenantId,
        code: &str,
    ) -> DomainResult<Option<crate::plan::Plan>>;
    fn update(&self, plan: &crate::plan::Plan) -> DomainResult<()>;
    fn list(
        &self,
        tenant_id: &crate::id::TenantId,
        filter: &PlanFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<crate::plan::Plan>>;
}

pub trait SubscriptionRepo: Send + Sync {
    fn insert(&self, subscription: &crate::subscription::Subscription) -> DomainResult<()>;
    /// A subscription in the scope (another customer's is not found).
    fn get(
        &self,
        scope: &Scope,
        id: &crate::id::SubscriptionId,
    ) -> DomainResult<Option<crate::subscription::Subscription>>;
    /// Locks the subscription, runs `change`, writes it back, in one transaction.
    fn change(
        &self,
        scope: &Scope,
        id: &crate::id::SubscriptionId,
        change: SubscriptionChange<'_>,
    ) -> DomainResult<crate::subscription::Subscription>;
    fn list(
        &self,
        scope: &Scope,
        filter: &SubscriptionFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<crate::subscription::Subscription>>;
    /// All of the customer's subscriptions still running (trialing, active, past due,
    /// paused), newest first.
    fn running(
        &self,
        customer: &CustomerScope,
    ) -> DomainResult<Vec<crate::subscription::Subscription>>;
    /// The distinct intervals (unit, count) of the running subscriptions on a test clock.
    fn clock_intervals(
        &self,
        tenant_id: &crate::id::TenantId,
        clock: &crate::id::TestClockId,
    ) -> DomainResult<Vec<(crate::plan::Interval, u32)>>;
    /// The subscription in the scope, locked until the unit of work ends.
    fn lock(
        &self,
        scope: &Scope,
        id: &crate::id::SubscriptionId,
    ) -> DomainResult<Option<crate::subscription::Subscription>>;
    /// Writes a subscription the caller holds locked (inside a unit of work).
    fn update(&self, subscription: &crate::subscription::Subscription) -> DomainResult<()>;
    /// Up to `limit` subscriptions whose `due_at` is at most `now`, earliest first, locked until
    /// the unit of work ends, skipping rows another worker holds (`FOR UPDATE SKIP LOCKED` on
    /// PostgreSQL; SQLite's single writer needs nothing). `clock`: only that test clock's
    /// subscriptions; `None`: only subscriptions on no clock.
    /// `after`: the (due time, id) of the caller's previous claim; only rows after it in
    /// that order are claimed (none: from the start). One account's rows only, so that the
    /// locks stay on one shard when the database is distributed by account.
    fn claim_due(
        &self,
        tenant_id: &crate::id::TenantId,
        clock: Option<&crate::id::TestClockId>,
        now: DateTime<Utc>,
        after: Option<(DateTime<Utc>, &crate::id::SubscriptionId)>,
        limit: usize,
    ) -> DomainResult<Vec<crate::subscription::Subscription>>;
    /// Up to `limit` accounts with subscriptions on no clock due at `now`, the longest waiting
    /// first. A read without locks: the claims that follow are per account.
    fn accounts_due(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> DomainResult<Vec<crate::id::TenantId>>;
}

pub trait TestClockRepo: Send + Sync {
    fn insert(&self, clock: &crate::test_clock::TestClock) -> DomainResult<()>;
    fn get(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &crate::id::TestClockId,
    ) -> DomainResult<Option<crate::test_clock::TestClock>>;
    /// The clock locked until the unit of work ends: advances of one clock run one at a time.
    fn lock(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &crate::id::TestClockId,
    ) -> DomainResult<Option<crate::test_clock::TestClock>>;
    fn update(&self, clock: &crate::test_clock::TestClock) -> DomainResult<()>;
    /// Up to `limit` clocks of any account that are advancing and held by no worker (no lease,
    /// or one that ended before `now`), the longest waiting first.
    fn advancing(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> DomainResult<Vec<crate::test_clock::TestClock>>;
    fn list(
        &self,
        tenant_id: &crate::id::TenantId,
        page: &PageRequest,
    ) -> DomainResult<Page<crate::test_clock::TestClock>>;
}

pub trait BillingRunRepo: Send + Sync {
    fn record(&self, run: &crate::test_clock::BillingRun) -> DomainResult<()>;
    /// The account's runs, newest first; optionally one subscription's.
    fn list(
        &self,
        tenant_id: &crate::id::TenantId,
        subscription_id: Option<&crate::id::SubscriptionId>,
        page: &PageRequest,
    ) -> DomainResult<Page<crate::test_clock::BillingRun>>;
}

/// One customer's saved payment methods. Every call names the customer: there is no
/// account-wide read.
pub trait PaymentMethodRepo: Send + Sync {
    /// Locks the customer's row until the unit of work ends, so changes of one customer's
    /// default run one at a time; the customer's status and auto-pay switch, or none when the
    /// account has no such customer.
    fn lock_owner(&self, owner: &CustomerScope) -> DomainResult<Option<(CustomerStatus, bool)>>;
    fn insert(&self, method: &crate::payment_method::PaymentMethod) -> DomainResult<()>;
    fn get(
        &self,
        owner: &CustomerScope,
        id: &crate::id::PaymentMethodId,
    ) -> DomainResult<Option<crate::payment_method::PaymentMethod>>;
    /// Writes a method back (inside the unit of work that read it under `lock_owner`).
    fn update(&self, method: &crate::payment_method::PaymentMethod) -> DomainResult<()>;
    /// The customer's default method, if any.
    fn default_of(
        &self,
        owner: &CustomerScope,
    ) -> DomainResult<Option<crate::payment_method::PaymentMethod>>;
    /// Whether the customer has any method that is not detached.
    fn has_attached(&self, owner: &CustomerScope) -> DomainResult<bool>;
    fn list(
        &self,
        owner: &CustomerScope,
        filter: &MethodFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<crate::payment_method::PaymentMethod>>;
}

/// The merchant's account and its settings.
pub trait AccountRepo: Send + Sync {
    fn get(&self, tenant_id: &crate::id::TenantId)
        -> DomainResult<Option<crate::account::Account>>;
    /// Locks the account, runs `change`, writes it back, in one transaction.
    fn change(
        &self,
        tenant_id: &crate::id::TenantId,
        change: &mut dyn FnMut(&mut crate::account::Account) -> DomainResult<()>,
    ) -> DomainResult<crate::account::Account>;
}

/// The sources of a customer's activity history.
pub trait ActivityRepo: Send + Sync {
    /// For each source the filter wants, up to `limit` of the customer's entries after `after`
    /// (see [`crate::activity::Position`]), newest first; [`crate::activity::merge`] makes a
    /// page of them.
    fn activity(
        &self,
        owner: &CustomerScope,
        filter: &crate::activity::ActivityFilter,
        after: Option<&crate::activity::Position>,
        limit: usize,
    ) -> DomainResult<Vec<Vec<crate::activity::Activity>>>;
}

/// Where changes record the webhook events that report them. Called inside the unit of work
/// that makes the change, so the event commits, or rolls back, with it.
pub trait Outbox: Send + Sync {
    fn emit(&self, event: &crate::webhook::WebhookEvent) -> DomainResult<()>;
}

/// Endpoints, the events of the outbox, and their deliveries.
pub trait WebhookRepo: Outbox {
    /// Records an event already fanned out by its caller (a test ping to one endpoint).
    fn emit_dispatched(&self, event: &crate::webhook::WebhookEvent) -> DomainResult<()>;
    fn insert_endpoint(&self, endpoint: &crate::webhook::WebhookEndpoint) -> DomainResult<()>;
    fn endpoint(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &crate::id::WebhookEndpointId,
    ) -> DomainResult<Option<crate::webhook::WebhookEndpoint>>;
    /// The endpoint, locked until the unit of work ends.
    fn lock_endpoint(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &crate::id::WebhookEndpointId,
    ) -> DomainResult<Option<crate::webhook::WebhookEndpoint>>;
    fn save_endpoint(&self, endpoint: &crate::webhook::WebhookEndpoint) -> DomainResult<()>;
    /// Deletes the endpoint with its deliveries and their attempts; false if there was none.
    fn delete_endpoint(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &crate::id::WebhookEndpointId,
    ) -> DomainResult<bool>;
    fn endpoints(
        &self,
        tenant_id: &crate::id::TenantId,
        page: &PageRequest,
    ) -> DomainResult<Page<crate::webhook::WebhookEndpoint>>;
    /// Every enabled endpoint of the account.
    fn enabled_endpoints(
        &self,
        tenant_id: &crate::id::TenantId,
    ) -> DomainResult<Vec<crate::webhook::WebhookEndpoint>>;

    fn event(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &crate::id::WebhookEventId,
    ) -> DomainResult<Option<crate::webhook::WebhookEvent>>;
    fn events(
        &self,
        tenant_id: &crate::id::TenantId,
        event_type: Option<crate::webhook::EventType>,
        page: &PageRequest,
    ) -> DomainResult<Page<crate::webhook::WebhookEvent>>;
    /// Events created at or after `since`, oldest first, at most `limit`.
    fn events_since(
        &self,
        tenant_id: &crate::id::TenantId,
        since: DateTime<Utc>,
        limit: i64,
    ) -> DomainResult<Vec<crate::webhook::WebhookEvent>>;
    /// Up to `limit` accounts with events not yet fanned out, the longest waiting first (a read
    /// without locks; the claims that follow are per account).
    fn accounts_undispatched(&self, limit: i64) -> DomainResult<Vec<crate::id::TenantId>>;
    /// Up to `limit` of the account's events not yet fanned out to endpoints, oldest first,
    /// locked (rows another node holds are skipped); [`WebhookRepo::mark_dispatched`] ends
    /// their turn.
    fn claim_undispatched(
        &self,
        tenant_id: &crate::id::TenantId,
        limit: i64,
    ) -> DomainResult<Vec<crate::webhook::WebhookEvent>>;
    fn mark_dispatched(
        &self,
        tenant_id: &crate::id::TenantId,
        ids: &[crate::id::WebhookEventId],
    ) -> DomainResult<()>;

    fn insert_deliveries(&self, deliveries: &[crate::webhook::WebhookDelivery])
        -> DomainResult<()>;
    /// Up to `limit` accounts with deliveries due at `now`, the longest waiting first (a read
    /// without locks; the claims that follow are per account).
    fn accounts_due(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> DomainResult<Vec<crate::id::TenantId>>;
    /// Claims up to `limit` of the account's pending deliveries due at `now` to enabled
    /// endpoints: each counts one more attempt and is held until `lease_until` (if its sender
    /// dies, it comes due again).
    fn claim_due(
        &self,
        tenant_id: &crate::id::TenantId,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> DomainResult<Vec<crate::webhook::Dispatch>>;
    /// The delivery, locked until the unit of work ends.
    fn lock_delivery(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &crate::id::WebhookDeliveryId,
    ) -> DomainResult<Option<crate::webhook::WebhookDelivery>>;
    /// Writes the delivery's status, attempts and next attempt, and appends `attempt` if given.
    fn save_delivery(
        &self,
        delivery: &crate::webhook::WebhookDelivery,
        attempt: Option<&crate::webhook::DeliveryAttempt>,
    ) -> DomainResult<()>;
    /// Fails every pending delivery to the endpoint (it was disabled); returns how many.
    fn fail_pending_deliveries(
        &self,
        tenant_id: &crate::id::TenantId,
        endpoint_id: &crate::id::WebhookEndpointId,
        now: DateTime<Utc>,
    ) -> DomainResult<usize>;
    /// Deletes up to `limit` fanned-out events created before `before` with nothing pending,
    /// with their deliveries and attempts; returns how many events.
    fn purge(&self, before: DateTime<Utc>, limit: i64) -> DomainResult<usize>;
    /// The endpoint's deliveries, newest first, each with its attempts.
    fn deliveries(
        &self,
        tenant_id: &crate::id::TenantId,
        endpoint_id: &crate::id::WebhookEndpointId,
        page: &PageRequest,
    ) -> DomainResult<Page<crate::webhook::WebhookDelivery>>;
    fn delivery(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &crate::id::WebhookDeliveryId,
    ) -> DomainResult<Option<crate::webhook::WebhookDelivery>>;
}

/// The merchant's tax rates.
pub trait TaxRateRepo: Send + Sync {
    fn insert(&self, rate: &crate::tax::TaxRate) -> DomainResult<()>;
    fn get(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &crate::id::TaxRateId,
    ) -> DomainResult<Option<crate::tax::TaxRate>>;
    /// The account's rates among `ids` (an id of no rate of the account is left out), in no
    /// particular order.
    fn many(
        &self,
        tenant_id: &crate::id::TenantId,
        ids: &[crate::id::TaxRateId],
    ) -> DomainResult<Vec<crate::tax::TaxRate>>;
    fn list(
        &self,
        tenant_id: &crate::id::TenantId,
        filter: &crate::tax::TaxRateFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<crate::tax::TaxRate>>;
    /// Archives the rate (once: a second call changes nothing); the rate as stored after.
    fn archive(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &crate::id::TaxRateId,
        now: DateTime<Utc>,
    ) -> DomainResult<Option<crate::tax::TaxRate>>;
}

pub trait CreditNoteRepo: Send + Sync {
    /// One transaction: lock the invoice, load its issued credit notes, run `change` (which may
    /// take a number of the credit notes' counter), write the invoice and insert the note.
    fn issue(
        &self,
        tenant_id: &crate::id::TenantId,
        invoice_id: &crate::id::InvoiceId,
        change: crate::credit_note::CreditChange<'_>,
    ) -> DomainResult<(crate::invoice::Invoice, crate::credit_note::CreditNote)>;
    /// Records what the note refunded (wallet credits, refunds), in the caller's unit of work.
    fn record_refunds(&self, note: &crate::credit_note::CreditNote) -> DomainResult<()>;
    /// One transaction: lock the note's invoice, then the note, run `change`, write both.
    fn void(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &crate::id::CreditNoteId,
        change: crate::credit_note::VoidChange<'_>,
    ) -> DomainResult<(crate::invoice::Invoice, crate::credit_note::CreditNote)>;
    fn get(
        &self,
        scope: &Scope,
        id: &crate::id::CreditNoteId,
    ) -> DomainResult<Option<crate::credit_note::CreditNote>>;
    /// The notes of one invoice, oldest first.
    fn of_invoice(
        &self,
        scope: &Scope,
        invoice_id: &crate::id::InvoiceId,
    ) -> DomainResult<Vec<crate::credit_note::CreditNote>>;
    fn list(
        &self,
        scope: &Scope,
        filter: &crate::credit_note::CreditNoteFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<crate::credit_note::CreditNote>>;
}

pub trait DiscountRepo: Send + Sync {
    fn insert_coupon(&self, coupon: &crate::discount::Coupon) -> DomainResult<()>;
    fn coupon(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &crate::id::CouponId,
    ) -> DomainResult<Option<crate::discount::Coupon>>;
    fn coupons(
        &self,
        tenant_id: &crate::id::TenantId,
        filter: &crate::discount::CouponFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<crate::discount::Coupon>>;
    /// Archives the coupon (once: a second call changes nothing); the coupon as stored after.
    fn archive_coupon(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &crate::id::CouponId,
        now: DateTime<Utc>,
    ) -> DomainResult<Option<crate::discount::Coupon>>;
    /// Inserts the code; `false` when the account has it already, in any case.
    fn insert_promotion_code(&self, code: &crate::discount::PromotionCode) -> DomainResult<bool>;
    fn promotion_code(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &crate::id::PromotionCodeId,
    ) -> DomainResult<Option<crate::discount::PromotionCode>>;
    fn promotion_codes(
        &self,
        tenant_id: &crate::id::TenantId,
        filter: &crate::discount::PromotionCodeFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<crate::discount::PromotionCode>>;
    /// The account's code matched whatever its case.
    fn promotion_code_by_code(
        &self,
        tenant_id: &crate::id::TenantId,
        code: &str,
    ) -> DomainResult<Option<crate::discount::PromotionCode>>;
    /// Counts one redemption of the coupon and of the code, if any, each only while it is
    /// below its `max_redemptions` (conditional updates in the caller's transaction: racing
    /// redemptions never pass a limit). `false` when one has reached it; the caller's
    /// transaction is then rolled back, so nothing stays counted.
    fn redeem(
        &self,
        tenant_id: &crate::id::TenantId,
        coupon: &crate::id::CouponId,
        code: Option<&crate::id::PromotionCodeId>,
    ) -> DomainResult<bool>;
    /// Deactivates the code (idempotent); the code as stored after.
    fn deactivate_promotion_code(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &crate::id::PromotionCodeId,
    ) -> DomainResult<Option<crate::discount::PromotionCode>>;
}

/// The words of a message to a customer in their language (the api's message catalogues).
pub trait Wording: Send + Sync {
    /// The subject of a `kind` message from `merchant` about `data` (its event's payload; null
    /// for a link), in the language of `locale` (a BCP 47 tag; English when none).
    fn subject(
        &self,
        kind: crate::email::EmailKind,
        locale: Option<&str>,
        merchant: &str,
        data: &serde_json::Value,
    ) -> String;
}

/// The e-mail outbox.
pub trait EmailRepo: Send + Sync {
    /// Records a message unless one for the same (source, recipient) exists; true if recorded.
    fn insert(&self, email: &crate::email::Email) -> DomainResult<bool>;
    fn get(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &crate::id::EmailId,
    ) -> DomainResult<Option<crate::email::Email>>;
    /// The message, locked until the unit of work ends.
    fn lock(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &crate::id::EmailId,
    ) -> DomainResult<Option<crate::email::Email>>;
    /// Newest first.
    fn list(
        &self,
        tenant_id: &crate::id::TenantId,
        filter: &crate::email::EmailFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<crate::email::Email>>;
    /// Up to `limit` accounts with messages due at `now`, the longest waiting first (a read
    /// without locks; the claims that follow are per account).
    fn accounts_due(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> DomainResult<Vec<crate::id::TenantId>>;
    /// Up to `limit` of the account's queued messages due at `now`, each counted as attempted
    /// and held by this node until `lease_until` (rows another node holds are skipped).
    fn claim_due(
        &self,
        tenant_id: &crate::id::TenantId,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> DomainResult<Vec<crate::email::Email>>;
    /// Stores the message's status, attempts, error and schedule.
    fn save(&self, email: &crate::email::Email) -> DomainResult<()>;
}

/// Encrypts what is kept at rest and must be read back (the links of e-mails waiting to go).
pub trait Sealer: Send + Sync {
    fn seal(&self, text: &str) -> DomainResult<String>;
    /// The sealed text, or None if no key of this server opens it.
    fn open(&self, sealed: &str) -> Option<String>;
}

/// Customers' alerts and their triggers (`crate::alert`).
pub trait AlertRepo: Send + Sync {
    fn insert(&self, alert: &crate::alert::Alert) -> DomainResult<()>;
    /// The customer's alerts, oldest first.
    fn of_customer(
        &self,
        customer: &crate::scope::CustomerScope,
    ) -> DomainResult<Vec<crate::alert::Alert>>;
    /// Removes the customer's alert with its triggers; false when they have none by that id.
    fn delete(
        &self,
        customer: &crate::scope::CustomerScope,
        id: &crate::id::AlertId,
    ) -> DomainResult<bool>;
    /// The alerts of one type set by any of `customers`.
    fn watching(
        &self,
        tenant_id: &crate::id::TenantId,
        alert_type: crate::alert::AlertType,
        customers: &[crate::id::CustomerId],
    ) -> DomainResult<Vec<crate::alert::Alert>>;
    /// Records a trigger unless its (alert, period) has one, and notes the alert's last
    /// firing; true if recorded (a concurrent recorder of the same waits, then records none).
    fn fire(&self, trigger: &crate::alert::AlertTrigger) -> DomainResult<bool>;
    /// The total of the customer's finalized invoices in `currency` issued in `[from, to)`.
    fn spend(
        &self,
        customer: &crate::scope::CustomerScope,
        currency: crate::money::Currency,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> DomainResult<bigdecimal::BigDecimal>;
}

/// License keys and their activations (`crate::license`). A key's `key` is stored sealed (see
/// [`Sealer`]): what is written and read back here is the sealed text; lookups go by digest.
pub trait LicenseKeyRepo: Send + Sync {
    /// Stores a key; false (nothing stored) when its subscription already has one.
    fn insert(&self, key: &crate::license::LicenseKey, digest: &str) -> DomainResult<bool>;
    fn get(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &crate::id::LicenseKeyId,
    ) -> DomainResult<Option<crate::license::LicenseKey>>;
    /// The key with this digest, in whichever account (the key is the credential).
    fn by_digest(&self, digest: &str) -> DomainResult<Option<crate::license::LicenseKey>>;
    /// Newest first.
    fn list(
        &self,
        tenant_id: &crate::id::TenantId,
        filter: &crate::license::LicenseKeyFilter,
        page: &crate::page::PageRequest,
    ) -> DomainResult<crate::page::Page<crate::license::LicenseKey>>;
    /// Sets or clears `disabled_at`; true if it changed.
    fn set_disabled(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &crate::id::LicenseKeyId,
        at: Option<DateTime<Utc>>,
    ) -> DomainResult<bool>;
    /// The activations of these keys (live and ended), oldest first.
    fn activations(
        &self,
        tenant_id: &crate::id::TenantId,
        keys: &[crate::id::LicenseKeyId],
    ) -> DomainResult<Vec<crate::license::LicenseActivation>>;
    /// Counts one more live activation on its key and stores it, if the key is not disabled
    /// and is under its limit, in one conditional update (exact under races); false otherwise,
    /// with nothing stored.
    fn activate(&self, activation: &crate::license::LicenseActivation) -> DomainResult<bool>;
    /// Ends a live activation of the key and counts one fewer; false if it has none by that id.
    fn deactivate(
        &self,
        tenant_id: &crate::id::TenantId,
        key: &crate::id::LicenseKeyId,
        activation: &crate::id::ActivationId,
        at: DateTime<Utc>,
    ) -> DomainResult<bool>;
}
