//! Changing a subscription's plan or seats: at once with proration (an upgrade or more seats,
//! by default) or at the period's end (a downgrade or fewer seats), previewed with the same
//! computation.

use super::*;

impl SubscriptionService {
    /// What changing to `change.plan` would do now, without doing it.
    pub fn preview_change(
        &self,
        scope: &Scope,
        id: &SubscriptionId,
        change: &PlanChange,
        actor: Actor<'_>,
    ) -> DomainResult<ChangePreview> {
        let s = self.get(scope, id)?;
        let now = self
            .billing
            .now_for(&s.tenant_id, s.test_clock_id.as_ref())?;
        let mut preview = self.plan_change(&s, change, &actor, now)?;
        // What `change_plan` charges or credits at once: a positive net with `invoice_now`, a
        // negative one always (to the wallet), taxed as the change will tax it.
        let net: BigDecimal = preview.lines.iter().map(|l| &l.amount).sum();
        let now_charged = preview.proration == Proration::InvoiceNow && net > BigDecimal::zero();
        let credited = preview.at == CancelAt::Immediately && net < BigDecimal::zero();
        if now_charged || credited {
            let lines = preview.lines.clone();
            preview.invoice =
                Some(
                    self.billing
                        .taxed_draft(&s, &preview.plan, lines, false, now)?,
                );
        }
        Ok(preview)
    }

    /// Changes the plan or the seats: at once (an upgrade or more seats, by default: the price
    /// difference for the rest of the period is invoiced now or added to the next renewal; an
    /// immediate downgrade credits the difference to the wallet) or at the period's end (a
    /// downgrade or fewer seats, by default: the customer keeps what they paid for until
    /// then). A portal session needs `plan_change` for a plan, `quantity_change` for seats.
    pub fn change_plan(
        &self,
        scope: &Scope,
        id: &SubscriptionId,
        change: PlanChange,
        actor: Actor<'_>,
    ) -> DomainResult<Subscription> {
        if change.plan.is_some() {
            actor.may(crate::actor::Permission::ChangePlan)?;
        }
        if change.quantity.is_some() {
            actor.may(crate::actor::Permission::ChangeQuantity)?;
        }
        self.changed(
            scope,
            id,
            &actor,
            actions::SUBSCRIPTION_PLAN_CHANGED,
            &mut |s, now| {
                let p = self.plan_change(s, &change, &actor, now)?;
                match p.at {
                    CancelAt::PeriodEnd => {
                        if p.plan.id != s.plan_id {
                            s.pending_plan_id = Some(p.plan.id.clone());
                        }
                        s.pending_quantity = (p.quantity != s.quantity).then_some(p.quantity);
                    }
                    CancelAt::Immediately => {
                        let net: BigDecimal = p.lines.iter().map(|l| &l.amount).sum();
                        s.plan_id = p.plan.id.clone();
                        s.quantity = p.quantity;
                        s.pending_plan_id = None;
                        s.pending_quantity = None;
                        // Moved at once onto a plan that issues license keys: its key now.
                        self.licenses.issue_for(s, &p.plan)?;
                        if net < BigDecimal::zero() {
                            // Tax included, as the period's fee was taxed (the new plan's
                            // rates, as an upgrade's invoice takes).
                            self.billing.credit_lines(
                                s,
                                &p.plan,
                                p.lines.clone(),
                                "plan_downgrade_credit",
                                now,
                            )?;
                        } else if !p.lines.is_empty() {
                            match p.proration {
                                Proration::InvoiceNow => {
                                    self.billing.invoice_now(s, &p.plan, p.lines, now)?;
                                }
                                Proration::NextRenewal => s.pending_lines.extend(p.lines),
                            }
                        }
                    }
                }
                s.updated_at = now;
                Ok(())
            },
        )
    }

    /// Decides a plan change of `s` at `now` (shared by the change and its preview).
    pub(super) fn plan_change(
        &self,
        s: &Subscription,
        change: &PlanChange,
        actor: &Actor<'_>,
        now: DateTime<Utc>,
    ) -> DomainResult<ChangePreview> {
        if s.is_over() {
            return Err(DomainError::Conflict {
                code: ErrorCode::SubscriptionEnded,
                message: "the subscription has ended".into(),
            });
        }
        let old = self.plan_of(s)?;
        let new = match &change.plan {
            Some(plan) => self.plan(&s.tenant_id, plan)?,
            None => old.clone(),
        };
        // Customers choose from the public catalogue only.
        if change.plan.is_some()
            && matches!(actor, Actor::Customer(_))
            && new.visibility != Visibility::Public
        {
            return Err(PlanId::not_found());
        }
        // A "Contact us" plan is sold by the merchant, not in the portal.
        if change.plan.is_some()
            && new.id != old.id
            && matches!(actor, Actor::Customer(_))
            && new.purchase == crate::plan::Purchase::ContactSales
        {
            return Err(DomainError::Conflict {
                code: ErrorCode::PlanContactSales,
                message: "This plan is sold by the merchant: contact them to change to it.".into(),
            });
        }
        let quantity = change.quantity.unwrap_or(s.quantity);
        match (change.plan.is_some(), change.quantity.is_some()) {
            (false, false) => {
                return Err(DomainError::validation("plan", "give plan or quantity"));
            }
            _ if new.id == old.id && quantity == s.quantity => {
                let field = if change.quantity.is_some() {
                    "quantity"
                } else {
                    "plan"
                };
                return Err(DomainError::validation(
                    field,
                    "is what the subscription already has",
                ));
            }
            _ => {}
        }
        new.quantity.admit("quantity", quantity)?;
        if new.id != old.id && new.status == PlanStatus::Archived {
            return Err(DomainError::Conflict {
                code: ErrorCode::PlanArchived,
                message: "the plan is archived and takes no new subscriptions".into(),
            });
        }
        if new.currency != old.currency {
            return Err(DomainError::Unprocessable {
                code: ErrorCode::CurrencyMismatch,
                message: format!(
                    "The subscription is billed in {}, and this plan in {}: choose a plan in {}.",
                    old.currency, new.currency, old.currency
                ),
            });
        }
        let upgrade = costs_more((&new, quantity), (&old, s.quantity));
        let at = change.at.unwrap_or(if upgrade {
            CancelAt::Immediately
        } else {
            CancelAt::PeriodEnd
        });
        let same_cycle = new.interval == old.interval && new.interval_count == old.interval_count;
        if at == CancelAt::Immediately && !same_cycle {
            return Err(DomainError::validation(
                "at",
                "a plan with another billing interval starts at the period's end",
            ));
        }
        let (effective_at, lines) = match at {
            CancelAt::PeriodEnd => (s.current_period_end, Vec::new()),
            CancelAt::Immediately => {
                let tz = self.tz_of(s)?;
                (now, proration_lines(s, &old, &new, quantity, now, tz))
            }
        };
        Ok(ChangePreview {
            plan: new,
            quantity,
            at,
            effective_at,
            upgrade,
            proration: change.proration.unwrap_or(Proration::InvoiceNow),
            lines,
            invoice: None,
        })
    }
}

crate::text_enum! {
    /// When the price difference of an immediate change is invoiced.
    pub enum Proration {
        InvoiceNow,
        NextRenewal,
    }
}

#[derive(Debug, Clone)]
pub struct PlanChange {
    /// The new plan's id or code (`None`: the current plan, for a change of seats).
    pub plan: Option<String>,
    /// The new number of seats (`None`: as many as now).
    pub quantity: Option<u32>,
    /// Default: `immediately` for an upgrade, `period_end` for a downgrade.
    pub at: Option<CancelAt>,
    /// Default: `invoice_now`.
    pub proration: Option<Proration>,
}

/// What a plan change does.
#[derive(Debug, Clone)]
pub struct ChangePreview {
    pub plan: Plan,
    /// The seats after the change.
    pub quantity: u32,
    pub at: CancelAt,
    pub effective_at: DateTime<Utc>,
    /// The new plan's fee is higher per unit of time.
    pub upgrade: bool,
    pub proration: Proration,
    /// Proration lines (immediate changes only): unused time back, remaining time charged.
    pub lines: Vec<LineItem>,
    /// The lines taxed as the change will charge or credit them at once: the invoice of an
    /// `invoice_now` change with a positive net, or, for a negative net, the credit to the
    /// wallet (its total, negative, is what the wallet gets, tax included); `None` when nothing
    /// happens now (a change at the period's end, proration at the next renewal).
    pub invoice: Option<crate::invoice::Invoice>,
}

/// Whether `a` (a plan and its seats) costs more than `b` per unit of time (fees compared over
/// a common span).
pub(super) fn costs_more(a: (&Plan, u32), b: (&Plan, u32)) -> bool {
    fn per_year((p, seats): (&Plan, u32)) -> (BigDecimal, i64) {
        let n: i64 = match p.interval {
            Interval::Day => 365,
            Interval::Week => 52,
            Interval::Month => 12,
            Interval::Year => 1,
        };
        let fee = &p.amount * BigDecimal::from(seats);
        (fee * BigDecimal::from(n), i64::from(p.interval_count))
    }
    let ((fa, ca), (fb, cb)) = (per_year(a), per_year(b));
    fa * BigDecimal::from(cb) > fb * BigDecimal::from(ca)
}
