//! The atomic check-and-consume: the limit is evaluated and the usage recorded in one
//! transaction, under the lock of the period counter the limit is counted on, so racing
//! consumers of the last units never overspend: of 64 racing for the last 10, exactly 10 pass.
//!
//! The event is recorded exactly as ingestion records it (dedupe by `event_id`, rollups,
//! counters). A repeated `event_id` is answered `duplicate` and counted once: it is looked up
//! under the same lock, before the limit is evaluated, so a retry of a consume that took the
//! last unit is not refused by its own first attempt; a different consume reusing the id is a
//! 409 `event_id_reused`. A refused consume stores no usage; the
//! first refusal of a period sends `entitlement.limit_reached` (once: marked on the counter).

use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};

use super::{Check, EntitlementService};
use crate::scope::CustomerScope;
use crate::usage::{Aggregation, IncomingEvent};
use crate::{DomainError, DomainResult};

crate::text_enum! {
    /// Why a check or consume answered as it did, beyond `allowed`.
    pub enum ConsumeReason {
        /// Within the limit (or no limit).
        WithinLimit,
        /// Over a soft limit: allowed, and said.
        SoftLimitExceeded,
        /// A hard limit: refused, nothing stored.
        LimitReached,
        /// No running subscription grants the feature: refused.
        NoEntitlement,
    }
}

crate::text_enum! {
    /// What happened to a consume's event.
    pub enum EventStatus {
        Accepted,
        /// The `event_id` was recorded before: counted once, not again.
        Duplicate,
    }
}

/// A consume as asked for.
#[derive(Debug, Clone)]
pub struct Consume {
    pub feature: String,
    pub quantity: BigDecimal,
    pub event_id: String,
    pub timestamp: Option<DateTime<Utc>>,
    pub properties: serde_json::Map<String, serde_json::Value>,
}

/// A consume's answer.
#[derive(Debug, Clone)]
pub struct Consumed {
    pub check: Check,
    /// `None` when refused (nothing stored).
    pub event_status: Option<EventStatus>,
}

impl EntitlementService {
    /// Checks and, when allowed, records `quantity` of the feature as one usage event, in one
    /// transaction (see the module doc). 404 `feature_not_found` for a feature the account does
    /// not have; 422 naming the field for an event ingestion would refuse.
    pub fn consume(&self, customer: &CustomerScope, c: Consume) -> DomainResult<Consumed> {
        let mut answer = None;
        self.units.atomically(&mut || {
            answer = Some(self.consume_once(customer, &c)?);
            Ok(())
        })?;
        answer.ok_or_else(|| DomainError::internal("a consume made no answer"))
    }

    fn consume_once(&self, customer: &CustomerScope, c: &Consume) -> DomainResult<Consumed> {
        // The account's features (the event's shape, and ingestion's check of it) and the
        // check's one read (the customer, the grants and their counters): two statements.
        let features = self.usage.features(&customer.tenant_id)?;
        let view = self
            .usage
            .check_view(customer, &c.feature)?
            .ok_or_else(crate::id::CustomerId::not_found)?;
        let feature = features
            .iter()
            .find(|f| f.key == c.feature && !f.archived)
            .ok_or_else(crate::services::usage::feature_not_found)?;
        let aggregation = feature.aggregation;
        let event = event_of(customer, c, feature)?;
        let Some(best) = super::most_generous(&view, &c.feature, aggregation) else {
            return Ok(Consumed {
                check: Check::not_entitled(),
                event_status: None,
            });
        };
        // Validated before the lock, so that consumers queue only for the writes.
        let prepared = self
            .ingestion
            .prepare_with(&customer.tenant_id, event, features)?
            .map_err(|why| refused_event(&why))?;
        let watch = self
            .ingestion
            .watch(&customer.tenant_id, std::slice::from_ref(&prepared))?;
        // Every consumer of this (customer, feature, period) waits here for the one before.
        let counter = self.usage.lock_counter(
            &customer.tenant_id,
            &customer.customer_id,
            &c.feature,
            best.period,
        )?;
        let used = counter.used(aggregation);
        let status = |used: BigDecimal, reason| Check {
            allowed: reason != ConsumeReason::LimitReached,
            reason,
            remaining: best
                .limit
                .as_ref()
                .map(|l| (l - &used).max(BigDecimal::from(0))),
            limit: best.limit.clone(),
            used,
        };
        if let Some(first) = self
            .usage
            .recorded_event(&customer.tenant_id, &c.event_id)?
        {
            same_consume(&first, &prepared)?;
            let over = best.limit.as_ref().is_some_and(|l| used > *l);
            let reason = match over && best.soft {
                true => ConsumeReason::SoftLimitExceeded,
                false => ConsumeReason::WithinLimit,
            };
            return Ok(Consumed {
                check: status(used, reason),
                event_status: Some(EventStatus::Duplicate),
            });
        }
        let after = match aggregation {
            Aggregation::Max => used.clone().max(c.quantity.clone()),
            Aggregation::Count | Aggregation::Sum => &used + &c.quantity,
        };
        let over = best.limit.as_ref().is_some_and(|l| after > *l);
        if over && !best.soft {
            let first = self.usage.mark_limit_reached(
                &customer.tenant_id,
                &customer.customer_id,
                &c.feature,
                best.period.start,
                crate::clock::now(),
            )?;
            if first {
                self.events.emit(
                    &customer.tenant_id,
                    crate::webhook::EventType::EntitlementLimitReached,
                    serde_json::json!({
                        "customer_id": customer.customer_id.as_str(),
                        "feature": c.feature,
                        "subscription_id": best.subscription_id.as_str(),
                        "limit": best.limit.as_ref().map(crate::money::canonical),
                        "used": crate::money::canonical(&used),
                        "period_start": best.period.start,
                        "period_end": best.period.end,
                    }),
                )?;
            }
            return Ok(Consumed {
                check: status(used, ConsumeReason::LimitReached),
                event_status: None,
            });
        }
        let fresh =
            self.ingestion
                .store(&customer.tenant_id, std::slice::from_ref(&prepared), watch)?;
        let event_status = match fresh.first() {
            Some(true) => EventStatus::Accepted,
            Some(false) => EventStatus::Duplicate,
            None => return Err(DomainError::internal("ingestion answered nothing")),
        };
        let used = match event_status {
            EventStatus::Accepted => after,
            EventStatus::Duplicate => used,
        };
        let reason = if over {
            ConsumeReason::SoftLimitExceeded
        } else {
            ConsumeReason::WithinLimit
        };
        Ok(Consumed {
            check: status(used, reason),
            event_status: Some(event_status),
        })
    }
}

/// The usage event a consume records: one event of a `count` feature (422 naming `quantity`
/// otherwise), or `quantity` as the value of a `sum` or `max` feature.
fn event_of(
    customer: &CustomerScope,
    c: &Consume,
    feature: &crate::usage::Feature,
) -> DomainResult<IncomingEvent> {
    let mut properties = c.properties.clone();
    match (feature.aggregation, feature.value_property.as_deref()) {
        (Aggregation::Count, _) if c.quantity != 1 => {
            return Err(DomainError::validation(
                "quantity",
                "a count feature consumes one event at a time: 1",
            ));
        }
        (Aggregation::Sum | Aggregation::Max, Some(prop)) => {
            properties.insert(
                prop.to_owned(),
                serde_json::Value::String(c.quantity.to_string()),
            );
        }
        _ => {}
    }
    Ok(IncomingEvent {
        event_id: c.event_id.clone(),
        customer_id: Some(customer.customer_id.to_string()),
        external_customer_id: None,
        feature: c.feature.clone(),
        timestamp: c.timestamp,
        properties,
    })
}

/// A repeated `event_id` must repeat the consume: same customer, feature, quantity and
/// properties (the timestamp may differ: a retry without one is stamped anew). Anything else is
/// a different consume reusing the id: 409 `event_id_reused`, nothing stored.
fn same_consume(
    first: &crate::usage::UsageEvent,
    again: &crate::usage::UsageEvent,
) -> DomainResult<()> {
    let same = first.customer_id == again.customer_id
        && first.feature_key == again.feature_key
        && first.quantity == again.quantity
        && first.properties == again.properties;
    match same {
        true => Ok(()),
        false => Err(DomainError::Conflict {
            code: crate::error::ErrorCode::EventIdReused,
            message: "This event_id was recorded with a different customer, feature, quantity \
                      or properties."
                .into(),
        }),
    }
}

/// Ingestion's reason for refusing an event, as a 422 naming the field it is about.
fn refused_event(why: &str) -> DomainError {
    let field = ["event_id", "timestamp", "properties"]
        .into_iter()
        .find(|f| why.starts_with(f) || why.contains(&format!("`{f}")))
        .unwrap_or(if why.starts_with("property") {
            "properties"
        } else {
            "body"
        });
    DomainError::validation(field, why.to_owned())
}
