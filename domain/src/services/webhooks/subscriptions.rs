//! The events of a subscription and of its discount.

use serde_json::json;

use super::Events;
use crate::subscription::Subscription;
use crate::webhook::EventType;
use crate::DomainResult;

impl Events {
    pub fn subscription(&self, t: EventType, s: &Subscription) -> DomainResult<()> {
        self.emit(
            &s.tenant_id,
            t,
            json!({
                "subscription_id": s.id.as_str(),
                "customer_id": s.customer_id.as_str(),
                "plan_id": s.plan_id.as_str(),
                "status": s.status.as_str(),
                "current_period_start": s.current_period_start,
                "current_period_end": s.current_period_end,
                "cancel_at_period_end": s.cancel_at_period_end,
                "canceled_at": s.canceled_at,
                "cancellation_reason": s.cancellation_reason.map(|r| r.as_str()),
                "cancellation_comment": s.cancellation_comment,
                "quantity": s.quantity,
                "pending_quantity": s.pending_quantity,
                "discount": s.discount.as_ref().map(|d| d.coupon_id.as_str()),
                "ended_at": s.ended_at,
                "updated_at": s.updated_at,
            }),
        )
    }

    /// A subscription's discount applied or removed: the coupon and the subscription.
    pub fn discount(
        &self,
        t: EventType,
        s: &Subscription,
        d: &crate::discount::AppliedDiscount,
    ) -> DomainResult<()> {
        self.emit(
            &s.tenant_id,
            t,
            json!({
                "subscription_id": s.id.as_str(),
                "customer_id": s.customer_id.as_str(),
                "coupon_id": d.coupon_id.as_str(),
                "promotion_code_id": d.promotion_code_id.as_ref().map(|p| p.as_str()),
                "name": d.name,
                "percent_off": d.percent_off.as_ref().map(|p| p.to_string()),
                "amount_off": d.amount_off_text(),
                "currency": d.currency,
                "duration": d.duration,
                "periods_left": d.periods_left,
                "applied_at": d.applied_at,
            }),
        )
    }
}
