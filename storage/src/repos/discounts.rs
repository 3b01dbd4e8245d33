use diesel::prelude::*;
use domain::discount::{
    Coupon, CouponDuration, CouponFilter, CouponValue, PromotionCode, PromotionCodeFilter,
};
use domain::id::{CouponId, PromotionCodeId, TenantId};
use domain::page::{Page, PageRequest};
use domain::ports::DiscountRepo;
use domain::DomainResult;

use super::stored::{json, stored_id, Stored};
use super::{internal, is_unique_violation, newest_first};
use crate::schema::{coupons as cp, promotion_codes as pc};
use crate::sql_types::{DbDecimal, DbTime};
use crate::Store;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = cp)]
struct CouponRow {
    id: String,
    tenant_id: String,
    name: String,
    percent_off: Option<DbDecimal>,
    amount_off: Option<DbDecimal>,
    currency: Option<String>,
    duration: String,
    duration_in_periods: Option<i32>,
    max_redemptions: Option<i64>,
    times_redeemed: i64,
    redeem_by: Option<DbTime>,
    plan_codes: String,
    active: bool,
    created_at: DbTime,
    archived_at: Option<DbTime>,
}

impl CouponRow {
    fn from_domain(c: &Coupon) -> Self {
        let (percent_off, amount_off, currency) = match &c.value {
            CouponValue::PercentOff(p) => (Some(DbDecimal(p.clone())), None, None),
            CouponValue::AmountOff { amount, currency } => (
                None,
                Some(DbDecimal(amount.clone())),
                Some(currency.code().to_owned()),
            ),
        };
        Self {
            id: c.id.to_string(),
            tenant_id: c.tenant_id.to_string(),
            name: c.name.clone(),
            percent_off,
            amount_off,
            currency,
            duration: c.duration.as_str().to_owned(),
            duration_in_periods: c.duration_in_periods.map(|n| n as i32),
            max_redemptions: c.max_redemptions,
            times_redeemed: c.times_redeemed,
            redeem_by: c.redeem_by.map(DbTime),
            plan_codes: json(&c.plan_codes),
            active: c.active,
            created_at: DbTime(c.created_at),
            archived_at: c.archived_at.map(DbTime),
        }
    }

    fn into_domain(self) -> DomainResult<Coupon> {
        let row = Stored {
            kind: "coupon",
            id: &self.id,
        };
        let value = match (self.percent_off, self.amount_off, self.currency.as_deref()) {
            (Some(p), None, None) => CouponValue::PercentOff(p.0.normalized()),
            (None, Some(a), Some(c)) => CouponValue::AmountOff {
                amount: a.0.normalized(),
                currency: row.currency(c)?,
            },
            _ => return Err(row.damaged("percent_off")),
        };
        Ok(Coupon {
            duration: row.text("duration", &self.duration, CouponDuration::parse)?,
            plan_codes: row.json("plan_codes", &self.plan_codes)?,
            id: stored_id(&self.id)?,
            tenant_id: self.tenant_id.into(),
            name: self.name,
            value,
            duration_in_periods: self.duration_in_periods.map(|n| n as u32),
            max_redemptions: self.max_redemptions,
            times_redeemed: self.times_redeemed,
            redeem_by: self.redeem_by.map(|t| t.0),
            active: self.active,
            created_at: self.created_at.0,
            archived_at: self.archived_at.map(|t| t.0),
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = pc)]
struct CodeRow {
    id: String,
    tenant_id: String,
    coupon_id: String,
    code: String,
    code_key: String,
    max_redemptions: Option<i64>,
    times_redeemed: i64,
    expires_at: Option<DbTime>,
    customer_id: Option<String>,
    first_time_only: bool,
    active: bool,
    created_at: DbTime,
}

impl CodeRow {
    fn from_domain(p: &PromotionCode) -> Self {
        Self {
            id: p.id.to_string(),
            tenant_id: p.tenant_id.to_string(),
            coupon_id: p.coupon_id.to_string(),
            code: p.code.clone(),
            code_key: domain::discount::code_key(&p.code),
            max_redemptions: p.max_redemptions,
            times_redeemed: p.times_redeemed,
            expires_at: p.expires_at.map(DbTime),
            customer_id: p.customer_id.as_ref().map(ToString::to_string),
            first_time_only: p.first_time_only,
            active: p.active,
            created_at: DbTime(p.created_at),
        }
    }

    fn into_domain(self) -> DomainResult<PromotionCode> {
        Ok(PromotionCode {
            id: stored_id(&self.id)?,
            tenant_id: self.tenant_id.into(),
            coupon_id: stored_id(&self.coupon_id)?,
            code: self.code,
            max_redemptions: self.max_redemptions,
            times_redeemed: self.times_redeemed,
            expires_at: self.expires_at.map(|t| t.0),
            customer_id: self.customer_id.as_deref().map(stored_id).transpose()?,
            first_time_only: self.first_time_only,
            active: self.active,
            created_at: self.created_at.0,
        })
    }
}

impl DiscountRepo for Store {
    fn insert_coupon(&self, c: &Coupon) -> DomainResult<()> {
        let mut conn = self.conn()?;
        diesel::insert_into(cp::table)
            .values(CouponRow::from_domain(c))
            .execute(&mut *conn)
            .map_err(internal)?;
        Ok(())
    }

    fn coupon(&self, tenant_id: &TenantId, id: &CouponId) -> DomainResult<Option<Coupon>> {
        let mut conn = self.conn()?;
        cp::table
            .filter(cp::tenant_id.eq(tenant_id.as_str()))
            .filter(cp::id.eq(id.as_str()))
            .select(CouponRow::as_select())
            .first(&mut *conn)
            .optional()
            .map_err(internal)?
            .map(CouponRow::into_domain)
            .transpose()
    }

    fn coupons(
        &self,
        tenant_id: &TenantId,
        filter: &CouponFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<Coupon>> {
        let mut conn = self.conn()?;
        let mut q = cp::table
            .filter(cp::tenant_id.eq(tenant_id.as_str()))
            .select(CouponRow::as_select())
            .into_boxed();
        if let Some(active) = filter.active {
            q = q.filter(cp::active.eq(active));
        }
        let found: Vec<CouponRow> = newest_first!(q, cp::id, page, &mut *conn).map_err(internal)?;
        let items = found
            .into_iter()
            .map(CouponRow::into_domain)
            .collect::<DomainResult<Vec<_>>>()?;
        Ok(Page::from_rows(items, page, |c: &Coupon| c.id.as_str()))
    }

    fn archive_coupon(
        &self,
        tenant_id: &TenantId,
        id: &CouponId,
        now: chrono::DateTime<chrono::Utc>,
    ) -> DomainResult<Option<Coupon>> {
        {
            let mut conn = self.conn()?;
            diesel::update(
                cp::table
                    .filter(cp::tenant_id.eq(tenant_id.as_str()))
                    .filter(cp::id.eq(id.as_str()))
                    .filter(cp::active.eq(true)),
            )
            .set((cp::active.eq(false), cp::archived_at.eq(Some(DbTime(now)))))
            .execute(&mut *conn)
            .map_err(internal)?;
        }
        self.coupon(tenant_id, id)
    }

    fn insert_promotion_code(&self, p: &PromotionCode) -> DomainResult<bool> {
        let mut conn = self.conn()?;
        match diesel::insert_into(pc::table)
            .values(CodeRow::from_domain(p))
            .execute(&mut *conn)
        {
            Ok(_) => Ok(true),
            // The account's unique (tenant_id, code_key): the code exists, in some case.
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(internal(e)),
        }
    }

    fn promotion_code(
        &self,
        tenant_id: &TenantId,
        id: &PromotionCodeId,
    ) -> DomainResult<Option<PromotionCode>> {
        let mut conn = self.conn()?;
        pc::table
            .filter(pc::tenant_id.eq(tenant_id.as_str()))
            .filter(pc::id.eq(id.as_str()))
            .select(CodeRow::as_select())
            .first(&mut *conn)
            .optional()
            .map_err(internal)?
            .map(CodeRow::into_domain)
            .transpose()
    }

    fn promotion_codes(
        &self,
        tenant_id: &TenantId,
        filter: &PromotionCodeFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<PromotionCode>> {
        let mut conn = self.conn()?;
        let mut q = pc::table
            .filter(pc::tenant_id.eq(tenant_id.as_str()))
            .select(CodeRow::as_select())
            .into_boxed();
        if let Some(c) = &filter.coupon_id {
            q = q.filter(pc::coupon_id.eq(c.clone()));
        }
        if let Some(code) = &filter.code {
            q = q.filter(pc::code_key.eq(domain::discount::code_key(code)));
        }
        if let Some(active) = filter.active {
            q = q.filter(pc::active.eq(active));
        }
        let found: Vec<CodeRow> = newest_first!(q, pc::id, page, &mut *conn).map_err(internal)?;
        let items = found
            .into_iter()
            .map(CodeRow::into_domain)
            .collect::<DomainResult<Vec<_>>>()?;
        Ok(Page::from_rows(items, page, |p: &PromotionCode| {
            p.id.as_str()
        }))
    }

    fn promotion_code_by_code(
        &self,
        tenant_id: &TenantId,
        code: &str,
    ) -> DomainResult<Option<PromotionCode>> {
        let mut conn = self.conn()?;
        pc::table
            .filter(pc::tenant_id.eq(tenant_id.as_str()))
            .filter(pc::code_key.eq(domain::discount::code_key(code)))
            .select(CodeRow::as_select())
            .first(&mut *conn)
            .optional()
            .map_err(internal)?
            .map(CodeRow::into_domain)
            .transpose()
    }

    fn redeem(
        &self,
        tenant_id: &TenantId,
        coupon: &CouponId,
        code: Option<&PromotionCodeId>,
    ) -> DomainResult<bool> {
        let mut conn = self.conn()?;
        // Each counter moves only while below its limit: the row lock of the update makes a
        // racing redemption wait and then see the new count (PostgreSQL re-checks the
        // condition on the row it waited for; SQLite has one writer at a time).
        if let Some(code) = code {
            let counted = diesel::update(
                pc::table
                    .filter(pc::tenant_id.eq(tenant_id.as_str()))
                    .filter(pc::id.eq(code.as_str()))
                    .filter(
                        pc::max_redemptions
                            .is_null()
                            .or(pc::times_redeemed.nullable().lt(pc::max_redemptions)),
                    ),
            )
            .set(pc::times_redeemed.eq(pc::times_redeemed + 1))
            .execute(&mut *conn)
            .map_err(internal)?;
            if counted == 0 {
                return Ok(false);
            }
        }
        let counted = diesel::update(
            cp::table
                .filter(cp::tenant_id.eq(tenant_id.as_str()))
                .filter(cp::id.eq(coupon.as_str()))
                .filter(
                    cp::max_redemptions
                        .is_null()
                        .or(cp::times_redeemed.nullable().lt(cp::max_redemptions)),
                ),
        )
        .set(cp::times_redeemed.eq(cp::times_redeemed + 1))
        .execute(&mut *conn)
        .map_err(internal)?;
        Ok(counted == 1)
    }

    fn deactivate_promotion_code(
        &self,
        tenant_id: &TenantId,
        id: &PromotionCodeId,
    ) -> DomainResult<Option<PromotionCode>> {
        {
            let mut conn = self.conn()?;
            diesel::update(
                pc::table
                    .filter(pc::tenant_id.eq(tenant_id.as_str()))
                    .filter(pc::id.eq(id.as_str())),
            )
            .set(pc::active.eq(false))
            .execute(&mut *conn)
            .map_err(internal)?;
        }
        self.promotion_code(tenant_id, id)
    }
}
