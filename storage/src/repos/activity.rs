//! A customer's activity history, read from the records themselves: one query per kind of
//! entry, each narrowed to the customer and to what follows the page's position, newest first.

use diesel::prelude::*;
use domain::activity::{Activity, ActivityFilter, ActivityKind, ActivityStatus, Position};
use domain::audit::actions;
use domain::money::{canonical, Currency};
use domain::ports::ActivityRepo;
use domain::scope::CustomerScope;
use domain::DomainResult;

use super::internal;
use crate::schema::{
    audit_events as au, credit_notes as cn, invoices as inv, payments as pay, refunds as re,
    wallet_transactions as wt, wallets as wa,
};
use crate::sql_types::{DbDecimal, DbTime};
use crate::Store;

/// Narrows a boxed query of one kind of entry (`$kind`) to the filter's dates and to what comes
/// after `$after` in the history's order (time, kind, id; newest first), and orders it so.
macro_rules! next_of {
    ($q:expr, $at:expr, $id:expr, $kind:expr, $filter:expr, $after:expr) => {{
        let mut q = $q;
        if let Some(from) = $filter.from {
            q = q.filter($at.ge(DbTime(from)));
        }
        if let Some(to) = $filter.to {
            q = q.filter($at.lt(DbTime(to)));
        }
        if let Some(p) = $after {
            let p: &Position = p;
            q = match $kind.cmp(&p.kind) {
                // At the same time, a smaller kind comes later, a greater one came before.
                std::cmp::Ordering::Less => q.filter($at.le(DbTime(p.at))),
                std::cmp::Ordering::Greater => q.filter($at.lt(DbTime(p.at))),
                std::cmp::Ordering::Equal => q.filter(
                    $at.lt(DbTime(p.at))
                        .or($at.eq(DbTime(p.at)).and($id.lt(p.source_id.clone()))),
                ),
            };
        }
        q.order(($at.desc(), $id.desc()))
    }};
}

/// Id, time, amount, currency and three texts of a payment or refund.
type MoneyRow = (
    String,
    DbTime,
    DbDecimal,
    String,
    String,
    String,
    Option<String>,
);
/// Id, time, value, currency, credits, description and reference of a ledger entry.
type LedgerRow = (
    String,
    DbTime,
    DbDecimal,
    String,
    DbDecimal,
    Option<String>,
    Option<String>,
);

fn entry(kind: ActivityKind, source_id: String, at: DbTime, description: String) -> Activity {
    Activity {
        at: at.0,
        kind,
        source_id,
        description,
        amount: None,
        currency: None,
        invoice_id: None,
        payment_id: None,
        transaction_id: None,
        status: ActivityStatus::Success,
    }
}

fn money(a: &mut Activity, amount: DbDecimal, currency: &str) {
    let currency = Currency::parse(currency).ok();
    a.amount = Some(match currency {
        Some(c) => c.round(&amount.0),
        None => amount.0,
    });
    a.currency = currency;
}

impl ActivityRepo for Store {
    fn activity(
        &self,
        owner: &CustomerScope,
        filter: &ActivityFilter,
        after: Option<&Position>,
        limit: usize,
    ) -> DomainResult<Vec<Vec<Activity>>> {
        use ActivityKind::*;
        let mut conn = self.conn()?;
        let conn = &mut *conn;
        let n = limit as i64;
        let (tenant, customer) = (owner.tenant_id.to_string(), owner.customer_id.to_string());
        let mut sources = Vec::new();

        for (kind, status) in [(PaymentSucceeded, "succeeded"), (PaymentFailed, "failed")] {
            if !filter.wants(kind) {
                continue;
            }
            let q = pay::table
                .filter(pay::tenant_id.eq(tenant.clone()))
                .filter(pay::customer_id.eq(customer.clone()))
                .filter(pay::status.eq(status))
                .select((
                    pay::id,
                    pay::created_at,
                    pay::amount,
                    pay::currency,
                    pay::method,
                    pay::invoice_id,
                    pay::failure_reason,
                ))
                .into_boxed();
            let rows: Vec<MoneyRow> = next_of!(q, pay::created_at, pay::id, kind, filter, after)
                .limit(n)
                .load(conn)
                .map_err(internal)?;
            sources.push(
                rows.into_iter()
                    .map(|(id, at, amount, currency, method, invoice, reason)| {
                        let how = if method == "wallet" {
                            "from the wallet"
                        } else {
                            "received"
                        };
                        let description = match (kind, reason) {
                            (PaymentFailed, Some(r)) => format!("Payment failed: {r}"),
                            (PaymentFailed, None) => "Payment failed".to_owned(),
                            _ => format!("Payment {how}"),
                        };
                        let mut a = entry(kind, id.clone(), at, description);
                        money(&mut a, amount, &currency);
                        a.payment_id = Some(id);
                        a.invoice_id = Some(invoice);
                        if kind == PaymentFailed {
                            a.status = ActivityStatus::Error;
                        }
                        a
                    })
                    .collect(),
            );
        }

        if filter.wants(Refund) {
            // A refund is the customer's through its payment.
            let q = re::table
                .inner_join(pay::table.on(pay::id.eq(re::payment_id)))
                .filter(re::tenant_id.eq(tenant.clone()))
                .filter(pay::tenant_id.eq(tenant.clone()))
                .filter(pay::customer_id.eq(customer.clone()))
                .select((
                    re::id,
                    re::created_at,
                    re::amount,
                    pay::currency,
                    re::payment_id,
                    re::invoice_id,
                    re::reason,
                ))
                .into_boxed();
            let rows: Vec<MoneyRow> = next_of!(q, re::created_at, re::id, Refund, filter, after)
                .limit(n)
                .load(conn)
                .map_err(internal)?;
            sources.push(
                rows.into_iter()
                    .map(|(id, at, amount, currency, payment, invoice, reason)| {
                        let description = match reason {
                            Some(r) => format!("Refund: {r}"),
                            None => "Refund".to_owned(),
                        };
                        let mut a = entry(Refund, id, at, description);
                        money(&mut a, amount, &currency);
                        a.payment_id = Some(payment);
                        a.invoice_id = Some(invoice);
                        a
                    })
                    .collect(),
            );
        }

        for (kind, tx_type) in [
            (WalletTopUp, "credit"),
            (WalletDebit, "debit"),
            (CreditsExpired, "expiry"),
        ] {
            if !filter.wants(kind) {
                continue;
            }
            let q = wt::table
                .inner_join(wa::table.on(wa::id.eq(wt::wallet_id)))
                .filter(wa::tenant_id.eq(tenant.clone()))
                .filter(wa::customer_id.eq(customer.clone()))
                .filter(wt::tx_type.eq(tx_type))
                .select((
                    wt::id,
                    wt::created_at,
                    wt::value,
                    wa::currency,
                    wt::credits,
                    wt::description,
                    wt::reference,
                ))
                .into_boxed();
            let rows: Vec<LedgerRow> = next_of!(q, wt::created_at, wt::id, kind, filter, after)
                .limit(n)
                .load(conn)
                .map_err(internal)?;
            sources.push(
                rows.into_iter()
                    .map(
                        |(id, at, value, currency, credits, description, reference)| {
                            let credits = canonical(&credits.0);
                            let what = match kind {
                                WalletTopUp => format!("{credits} credits added"),
                                WalletDebit => format!("{credits} credits used"),
                                _ => format!("{credits} credits expired"),
                            };
                            let description = match description {
                                Some(d) => format!("{what} ({d})"),
                                None => what,
                            };
                            let mut a = entry(kind, id.clone(), at, description);
                            money(&mut a, value, &currency);
                            a.transaction_id = Some(id);
                            // A debit that paid an invoice names the payment.
                            a.payment_id = reference.filter(|r| r.starts_with("pay_"));
                            a
                        },
                    )
                    .collect(),
            );
        }

        for kind in [InvoiceIssued, InvoiceVoided] {
            if !filter.wants(kind) {
                continue;
            }
            let base = inv::table
                .filter(inv::tenant_id.eq(tenant.clone()))
                .filter(inv::customer_id.eq(customer.clone()))
                .into_boxed();
            type Row = (String, Option<DbTime>, DbDecimal, String, Option<String>);
            let rows: Vec<Row> = if kind == InvoiceIssued {
                let q = base.filter(inv::issued_at.is_not_null()).select((
                    inv::id,
                    inv::issued_at,
                    inv::total,
                    inv::currency,
                    inv::number,
                ));
                next_of!(q, inv::issued_at, inv::id, kind, filter, after)
                    .limit(n)
                    .load(conn)
            } else {
                let q = base.filter(inv::voided_at.is_not_null()).select((
                    inv::id,
                    inv::voided_at,
                    inv::total,
                    inv::currency,
                    inv::number,
                ));
                next_of!(q, inv::voided_at, inv::id, kind, filter, after)
                    .limit(n)
                    .load(conn)
            }
            .map_err(internal)?;
            sources.push(
                rows.into_iter()
                    .filter_map(|(id, at, total, currency, number)| {
                        let name = number.unwrap_or_else(|| id.clone());
                        let description = match kind {
                            InvoiceIssued => format!("Invoice {name} issued"),
                            _ => format!("Invoice {name} voided"),
                        };
                        let mut a = entry(kind, id.clone(), at?, description);
                        money(&mut a, total, &currency);
                        a.invoice_id = Some(id);
                        Some(a)
                    })
                    .collect(),
            );
        }

        if filter.wants(CreditNoteIssued) {
            let q = cn::table
                .filter(cn::tenant_id.eq(tenant.clone()))
                .filter(cn::customer_id.eq(customer.clone()))
                .select((
                    cn::id,
                    cn::created_at,
                    cn::total,
                    cn::currency,
                    cn::number,
                    cn::invoice_id,
                ))
                .into_boxed();
            type Row = (String, DbTime, DbDecimal, String, String, String);
            let rows: Vec<Row> =
                next_of!(q, cn::created_at, cn::id, CreditNoteIssued, filter, after)
                    .limit(n)
                    .load(conn)
                    .map_err(internal)?;
            sources.push(
                rows.into_iter()
                    .map(|(id, at, total, currency, number, invoice)| {
                        let description = format!("Credit note {number} issued");
                        let mut a = entry(CreditNoteIssued, id, at, description);
                        money(&mut a, total, &currency);
                        a.invoice_id = Some(invoice);
                        a
                    })
                    .collect(),
            );
        }

        // Changes the customer made in the portal (the audit log's customer-facing entries).
        for (kind, wanted) in [
            (
                SubscriptionChanged,
                &[
                    actions::SUBSCRIPTION_CANCELED,
                    actions::SUBSCRIPTION_UNCANCELED,
                    actions::SUBSCRIPTION_PLAN_CHANGED,
                ][..],
            ),
            (
                PaymentMethodChanged,
                &[
                    actions::PAYMENT_METHOD_DEFAULT_SET,
                    actions::PAYMENT_METHOD_DETACHED,
                ][..],
            ),
            (ProfileUpdated, &[actions::PROFILE_UPDATED][..]),
            (InvoiceRevised, &[actions::INVOICE_REVISED][..]),
        ] {
            if !filter.wants(kind) {
                continue;
            }
            let q = au::table
                .filter(au::tenant_id.eq(tenant.clone()))
                .filter(au::customer_id.eq(customer.clone()))
                .filter(au::action.eq_any(wanted.iter().map(|a| a.to_string()).collect::<Vec<_>>()))
                .select((au::id, au::occurred_at, au::action))
                .into_boxed();
            let rows: Vec<(String, DbTime, String)> =
                next_of!(q, au::occurred_at, au::id, kind, filter, after)
                    .limit(n)
                    .load(conn)
                    .map_err(internal)?;
            sources.push(
                rows.into_iter()
                    .map(|(id, at, action)| {
                        let description = match action.as_str() {
                            actions::SUBSCRIPTION_CANCELED => "Subscription canceled",
                            actions::SUBSCRIPTION_UNCANCELED => {
                                "Subscription cancellation taken back"
                            }
                            actions::SUBSCRIPTION_PLAN_CHANGED => "Subscription plan changed",
                            actions::PAYMENT_METHOD_DEFAULT_SET => "Default payment method changed",
                            actions::PROFILE_UPDATED => "Profile updated",
                            actions::INVOICE_REVISED => "Invoice billing details corrected",
                            _ => "Payment method removed",
                        };
                        entry(kind, id, at, description.to_owned())
                    })
                    .collect(),
            );
        }
        Ok(sources)
    }
}
