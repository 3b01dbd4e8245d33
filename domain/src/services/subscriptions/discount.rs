//! Discounts on a subscription: a coupon the merchant applies, a promotion code anyone with the
//! right types, the account's retention offer a customer accepts while cancelling. Every
//! redemption is counted in the transaction that applies it, by conditional updates, so a
//! limited coupon or code is never redeemed past its limit, however many race for it.

use super::*;
use crate::discount::{AppliedDiscount, Coupon, CouponValue, PromotionCode};
use crate::id::CouponId;

/// What is asked for: a coupon by id (the merchant), or a promotion code as typed.
#[derive(Debug, Clone)]
pub enum DiscountRequest {
    Coupon(String),
    PromotionCode(String),
}

impl DiscountRequest {
    /// The request field a refusal names.
    fn field(&self) -> &'static str {
        match self {
            DiscountRequest::Coupon(_) => "coupon_id",
            DiscountRequest::PromotionCode(_) => "promotion_code",
        }
    }
}

impl SubscriptionService {
    /// Applies a coupon or a promotion code to the subscription, replacing its discount (the
    /// replaced one is reported as `discount.removed`). A portal session needs
    /// `promotion_code_redeem` and may only redeem codes.
    pub fn apply_discount(
        &self,
        scope: &Scope,
        id: &SubscriptionId,
        wanted: DiscountRequest,
        actor: Actor<'_>,
    ) -> DomainResult<Subscription> {
        if matches!(actor, Actor::Customer(_)) {
            actor.may(Permission::RedeemPromotionCode)?;
            // Customers type codes; coupons are the merchant's to give.
            if let DiscountRequest::Coupon(_) = wanted {
                return Err(DomainError::validation(
                    "coupon_id",
                    "customers redeem promotion codes only",
                ));
            }
        }
        self.changed(
            scope,
            id,
            &actor,
            actions::SUBSCRIPTION_DISCOUNT_APPLIED,
            &mut |s, now| {
                let plan = self.plan_of(s)?;
                let applied = self.redeem(s, &plan, &wanted, now)?;
                self.replace_discount(s, Some(applied), now)
            },
        )
    }

    /// Removes the subscription's discount (merchant only): 404 `discount_not_found` when it
    /// has none.
    pub fn remove_discount(
        &self,
        scope: &Scope,
        id: &SubscriptionId,
    ) -> DomainResult<Subscription> {
        self.changed(
            scope,
            id,
            &Actor::Merchant,
            actions::SUBSCRIPTION_DISCOUNT_REMOVED,
            &mut |s, now| {
                if s.discount.is_none() {
                    return Err(DomainError::NotFound {
                        resource: "discount",
                        code: ErrorCode::DiscountNotFound,
                    });
                }
                self.replace_discount(s, None, now)
            },
        )
    }

    /// The account's retention offer for the subscription: its retention coupon, while the
    /// subscription runs, was never given it before, and the coupon could be applied to it.
    /// `None` when there is nothing to offer. Never a condition of cancelling.
    pub fn retention_offer(
        &self,
        scope: &Scope,
        id: &SubscriptionId,
    ) -> DomainResult<Option<Coupon>> {
        let s = self.get(scope, id)?;
        let Some(coupon) = self.retention_coupon(&s)? else {
            return Ok(None);
        };
        let plan = self.plan_of(&s)?;
        let now = self
            .billing
            .now_for(&s.tenant_id, s.test_clock_id.as_ref())?;
        let field = "retention_offer";
        if check_coupon(&coupon, &plan, now, field).is_err() {
            return Ok(None);
        }
        Ok(Some(coupon))
    }

    /// Accepts the retention offer: its coupon is applied (and counted) as the subscription's
    /// discount; 409 `retention_offer_unavailable` when there is none to accept. A portal
    /// session needs `subscription_cancel` (the offer is part of the cancel flow).
    pub fn accept_retention_offer(
        &self,
        scope: &Scope,
        id: &SubscriptionId,
        actor: Actor<'_>,
    ) -> DomainResult<Subscription> {
        actor.may(Permission::CancelSubscription { immediate: false })?;
        self.changed(
            scope,
            id,
            &actor,
            actions::SUBSCRIPTION_RETENTION_ACCEPTED,
            &mut |s, now| {
                let unavailable = || DomainError::Conflict {
                    code: ErrorCode::RetentionOfferUnavailable,
                    message: "there is no retention offer for this subscription".into(),
                };
                let coupon = self.retention_coupon(s)?.ok_or_else(unavailable)?;
                let plan = self.plan_of(s)?;
                check_coupon(&coupon, &plan, now, "retention_offer").map_err(|_| unavailable())?;
                if !self.discounts.redeem(&s.tenant_id, &coupon.id, None)? {
                    return Err(unavailable());
                }
                s.retention_accepted_at = Some(now);
                let applied = AppliedDiscount::of(&coupon, None, now);
                self.replace_discount(s, Some(applied), now)
            },
        )
    }

    /// The account's retention coupon, if the subscription may still be offered it: running,
    /// never accepted before, not discounted by it now.
    fn retention_coupon(&self, s: &Subscription) -> DomainResult<Option<Coupon>> {
        if s.is_over() || s.retention_accepted_at.is_some() {
            return Ok(None);
        }
        let Some(id) = self
            .accounts
            .get(&s.tenant_id)?
            .and_then(|a| a.settings.retention_coupon_id)
        else {
            return Ok(None);
        };
        if s.discount.as_ref().is_some_and(|d| d.coupon_id == id) {
            return Ok(None);
        }
        self.discounts.coupon(&s.tenant_id, &id)
    }

    /// Sets `s`'s discount, reporting the one it replaces as removed and the new one as
    /// applied.
    fn replace_discount(
        &self,
        s: &mut Subscription,
        new: Option<AppliedDiscount>,
        now: DateTime<Utc>,
    ) -> DomainResult<()> {
        if s.is_over() {
            return Err(DomainError::Conflict {
                code: ErrorCode::SubscriptionEnded,
                message: "the subscription has ended".into(),
            });
        }
        if let Some(old) = s.discount.take() {
            self.events.discount(EventType::DiscountRemoved, s, &old)?;
        }
        s.discount = new;
        if let Some(d) = &s.discount {
            self.events.discount(EventType::DiscountApplied, s, d)?;
        }
        s.updated_at = now;
        Ok(())
    }

    /// Finds and checks what `wanted` names for `s` on `plan` at `now`, and counts the
    /// redemption (in the caller's transaction). 422 naming the field for a code or coupon
    /// that cannot be redeemed here; 404 `coupon_not_found` for an unknown coupon id.
    pub(super) fn redeem(
        &self,
        s: &Subscription,
        plan: &Plan,
        wanted: &DiscountRequest,
        now: DateTime<Utc>,
    ) -> DomainResult<AppliedDiscount> {
        let tenant_id = &s.tenant_id;
        let field = wanted.field();
        let refuse = |why: &str| DomainError::validation(field, why.to_owned());
        let (coupon, code) = match wanted {
            DiscountRequest::Coupon(id) => {
                let id = CouponId::parse(id).ok_or_else(CouponId::not_found)?;
                let coupon = self.discounts.coupon(tenant_id, &id)?;
                (coupon.ok_or_else(CouponId::not_found)?, None)
            }
            DiscountRequest::PromotionCode(typed) => {
                // A code of another account is simply not one of this account's codes.
                let code = self
                    .discounts
                    .promotion_code_by_code(tenant_id, typed)?
                    .ok_or_else(|| refuse("is not a valid promotion code"))?;
                self.check_code(&code, s, now, field)?;
                let coupon = self
                    .discounts
                    .coupon(tenant_id, &code.coupon_id)?
                    .ok_or_else(|| DomainError::internal("a promotion code's coupon is gone"))?;
                (coupon, Some(code))
            }
        };
        check_coupon(&coupon, plan, now, field)?;
        if s.discount
            .as_ref()
            .is_some_and(|d| d.coupon_id == coupon.id)
        {
            return Err(refuse("is already applied to this subscription"));
        }
        let code_id = code.as_ref().map(|c| &c.id);
        if !self.discounts.redeem(tenant_id, &coupon.id, code_id)? {
            return Err(refuse("has been redeemed as many times as it may be"));
        }
        Ok(AppliedDiscount::of(&coupon, code.as_ref(), now))
    }

    /// What a promotion code itself allows: active, not expired, its customer, a first
    /// purchase.
    fn check_code(
        &self,
        code: &PromotionCode,
        s: &Subscription,
        now: DateTime<Utc>,
        field: &str,
    ) -> DomainResult<()> {
        let refuse = |why: &str| Err(DomainError::validation(field, why.to_owned()));
        if !code.active {
            return refuse("is no longer active");
        }
        if code.expires_at.is_some_and(|t| t <= now) {
            return refuse("has expired");
        }
        if code
            .customer_id
            .as_ref()
            .is_some_and(|c| *c != s.customer_id)
        {
            return refuse("is not valid for this customer");
        }
        if code.first_time_only {
            let theirs = crate::scope::CustomerScope::new(&s.tenant_id, &s.customer_id);
            if self.invoices.has_paid(&theirs)? {
                return refuse("is for first purchases only");
            }
        }
        Ok(())
    }
}

/// What a coupon allows on `plan` at `now`: active, before its `redeem_by`, one of its plans,
/// an amount in the plan's currency (422 naming `field` otherwise).
fn check_coupon(coupon: &Coupon, plan: &Plan, now: DateTime<Utc>, field: &str) -> DomainResult<()> {
    let refuse = |why: String| Err(DomainError::validation(field, why));
    if !coupon.active {
        return refuse("is archived".into());
    }
    if coupon.redeem_by.is_some_and(|t| t <= now) {
        return refuse("can no longer be redeemed".into());
    }
    if !coupon.plan_codes.is_empty() && !coupon.plan_codes.contains(&plan.code) {
        return refuse(format!("does not apply to the plan {}", plan.code));
    }
    if let CouponValue::AmountOff { currency, .. } = &coupon.value {
        if *currency != plan.currency {
            return refuse(format!(
                "takes an amount of {currency} off, and the subscription is billed in {}",
                plan.currency
            ));
        }
    }
    Ok(())
}
