//! Coupons and promotion codes: created, listed, archived and deactivated by the merchant.

use std::sync::Arc;

use crate::discount::{
    check_promotion_code, Coupon, CouponFilter, NewCoupon, NewPromotionCode, PromotionCode,
    PromotionCodeFilter,
};
use crate::id::{CouponId, CustomerId, PromotionCodeId, TenantId};
use crate::page::{Page, PageRequest};
use crate::ports::{CustomerRepo, DiscountRepo, PlanRepo};
use crate::{clock, DomainError, DomainResult, ErrorCode, FieldError};

#[derive(Clone)]
pub struct DiscountService {
    repo: Arc<dyn DiscountRepo>,
    plans: Arc<dyn PlanRepo>,
    customers: Arc<dyn CustomerRepo>,
}

impl DiscountService {
    pub fn new(
        repo: Arc<dyn DiscountRepo>,
        plans: Arc<dyn PlanRepo>,
        customers: Arc<dyn CustomerRepo>,
    ) -> Self {
        Self {
            repo,
            plans,
            customers,
        }
    }

    /// Validates (422 naming each field; `plan_codes[i]` must be plans of the account) and
    /// stores a coupon.
    pub fn create_coupon(&self, tenant_id: &TenantId, new: NewCoupon) -> DomainResult<Coupon> {
        let codes = new.plan_codes.clone();
        let made = Coupon::new(tenant_id, new, clock::now());
        let mut errs = match &made {
            Err(DomainError::Validation(errs)) => errs.clone(),
            Err(_) => return made,
            Ok(_) => Vec::new(),
        };
        for (i, code) in codes.iter().enumerate() {
            if self.plans.get_by_code(tenant_id, code)?.is_none() {
                errs.push(FieldError::new(format!("plan_codes[{i}]"), "no such plan"));
            }
        }
        if !errs.is_empty() {
            return Err(DomainError::Validation(errs));
        }
        let coupon = made?;
        self.repo.insert_coupon(&coupon)?;
        Ok(coupon)
    }

    pub fn coupon(&self, tenant_id: &TenantId, id: &CouponId) -> DomainResult<Coupon> {
        self.repo
            .coupon(tenant_id, id)?
            .ok_or_else(CouponId::not_found)
    }

    pub fn coupons(
        &self,
        tenant_id: &TenantId,
        filter: &CouponFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<Coupon>> {
        self.repo.coupons(tenant_id, filter, page)
    }

    /// Archives a coupon: no new redemptions, of it or of its promotion codes; where it is
    /// already applied it keeps discounting for its duration. Idempotent.
    pub fn archive_coupon(&self, tenant_id: &TenantId, id: &CouponId) -> DomainResult<Coupon> {
        self.repo
            .archive_coupon(tenant_id, id, clock::now())?
            .ok_or_else(CouponId::not_found)
    }

    /// Validates (422 naming each field: an unknown or archived `coupon_id`, an unknown
    /// `customer_id`) and stores a promotion code; 409 `promotion_code_taken` when the account
    /// has the code already, in any case.
    pub fn create_promotion_code(
        &self,
        tenant_id: &TenantId,
        new: NewPromotionCode,
    ) -> DomainResult<PromotionCode> {
        let now = clock::now();
        let mut errs = check_promotion_code(&new, now);
        let coupon = CouponId::parse(&new.coupon_id);
        match &coupon {
            None => errs.push(FieldError::new("coupon_id", "no such coupon")),
            Some(id) => match self.repo.coupon(tenant_id, id)? {
                None => errs.push(FieldError::new("coupon_id", "no such coupon")),
                Some(c) if !c.active => {
                    errs.push(FieldError::new("coupon_id", "the coupon is archived"))
                }
                Some(_) => {}
            },
        }
        let customer = match &new.customer_id {
            None => None,
            Some(given) => {
                let found = match CustomerId::parse(given) {
                    Some(id) => self.customers.get(tenant_id, &id)?,
                    None => None,
                };
                if found.is_none() {
                    errs.push(FieldError::new("customer_id", "no such customer"));
                }
                found.map(|c| c.id)
            }
        };
        let Some(coupon_id) = coupon.filter(|_| errs.is_empty()) else {
            return Err(DomainError::Validation(errs));
        };
        let code = PromotionCode {
            id: PromotionCodeId::new(),
            tenant_id: tenant_id.clone(),
            coupon_id,
            code: new.code.trim().to_owned(),
            max_redemptions: new.max_redemptions,
            times_redeemed: 0,
            expires_at: new.expires_at,
            customer_id: customer,
            first_time_only: new.first_time_only,
            active: true,
            created_at: now,
        };
        if !self.repo.insert_promotion_code(&code)? {
            return Err(DomainError::Conflict {
                code: ErrorCode::PromotionCodeTaken,
                message: format!("The account already has the code `{}`.", code.code),
            });
        }
        Ok(code)
    }

    pub fn promotion_code(
        &self,
        tenant_id: &TenantId,
        id: &PromotionCodeId,
    ) -> DomainResult<PromotionCode> {
        self.repo
            .promotion_code(tenant_id, id)?
            .ok_or_else(PromotionCodeId::not_found)
    }

    pub fn promotion_codes(
        &self,
        tenant_id: &TenantId,
        filter: &PromotionCodeFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<PromotionCode>> {
        self.repo.promotion_codes(tenant_id, filter, page)
    }

    /// Deactivates a code: it can no longer be redeemed (where it was, the discount stays).
    /// Idempotent.
    pub fn deactivate_promotion_code(
        &self,
        tenant_id: &TenantId,
        id: &PromotionCodeId,
    ) -> DomainResult<PromotionCode> {
        self.repo
            .deactivate_promotion_code(tenant_id, id)?
            .ok_or_else(PromotionCodeId::not_found)
    }
}
