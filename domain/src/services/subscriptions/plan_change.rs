//! Changing a subscription's plan: at once with proration (an upgrade, by default) or at the
//! period's end (a downgrade), previewed with the same computation.

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
            preview.invoice = Some(self.billing.taxed_draft(&s, &preview.plan, lines, now)?);
        }
        Ok(preview)
    }

    /// Changes the plan: at once (an upgrade, by default: the price difference for the rest of
    /// the period is invoiced now or added to the next renewal; an immediate downgrade credits
    /// the difference to the wallet) or at the period's end (a downgrade, by default: the
    /// customer keeps what they paid for until then). A portal session needs `plan_change`.
    pub fn change_plan(
        &self,
        scope: &Scope,
        id: &SubscriptionId,
        change: PlanChange,
        actor: Actor<'_>,
    ) -> DomainResult<Subscription> {
        actor.may(crate::actor::Permission::ChangePlan)?;
        self.changed(
            scope,
            id,
            &actor,
            actions::SUBSCRIPTION_PLAN_CHANGED,
            &mut |s, now| {
                let p = self.plan_change(s, &change, &actor, now)?;
                match p.at {
                    CancelAt::PeriodEnd => s.pending_plan_id = Some(p.plan.id.clone()),
                    CancelAt::Immediately => {
                        let net: BigDecimal = p.lines.iter().map(|l| &l.amount).sum();
                        s.plan_id = p.plan.id.clone();
                        s.pending_plan_id = None;
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
        let new = self.plan(&s.tenant_id, &change.plan)?;
        // Customers choose from the public catalogue only.
        if matches!(actor, Actor::Customer(_)) && new.visibility != Visibility::Public {
            return Err(PlanId::not_found());
        }
        if new.id == old.id {
            return Err(DomainError::validation(
                "plan",
                "is the subscription's current plan",
            ));
        }
        if new.status == PlanStatus::Archived {
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
        let upgrade = costs_more(&new, &old);
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
            CancelAt::Immediately => (now, proration_lines(s, &old, &new, now, self.tz_of(s)?)),
        };
        Ok(ChangePreview {
            plan: new,
            at,
            effective_at,
            upgrade,
            proration: change.proration.unwrap_or(Proration::InvoiceNow),
            lines,
            invoice: None,
        })
    }
}

/// Whether `a` costs more than `b` per unit of time (fees compared over a common span).
pub(super) fn costs_more(a: &Plan, b: &Plan) -> bool {
    fn per_year(p: &Plan) -> (BigDecimal, i64) {
        let n: i64 = match p.interval {
            Interval::Day => 365,
            Interval::Week => 52,
            Interval::Month => 12,
            Interval::Year => 1,
        };
        (&p.amount * BigDecimal::from(n), i64::from(p.interval_count))
    }
    let ((fa, ca), (fb, cb)) = (per_year(a), per_year(b));
    fa * BigDecimal::from(cb) > fb * BigDecimal::from(ca)
}
