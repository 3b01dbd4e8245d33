//! Who asks for a change: the merchant's key, a customer's portal session, or the system (the
//! billing worker, test clocks). A write a customer can reach takes the actor, and the actor
//! answers whether it may: the merchant and the system always, a customer only with a writable
//! session (not an admin preview) that grants the permission. Services audit a customer's
//! writes by the same actor.

use crate::audit::AuditEvent;
use crate::portal_session::{CancelMode, PortalSession};
use crate::{DomainError, DomainResult, ErrorCode};

pub enum Actor<'a> {
    Merchant,
    Customer(&'a PortalSession),
    /// The billing worker or a test clock: no person, never refused.
    System,
}

/// What a portal session must be granted to do a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Cancel, or take back a cancellation; `immediate` asks for `mode: immediately`.
    CancelSubscription {
        immediate: bool,
    },
    ChangePlan,
    /// Change a subscription's seats (`quantity_change`).
    ChangeQuantity,
    /// Redeem a promotion code on a subscription (`promotion_code_redeem`).
    RedeemPromotionCode,
    ManagePaymentMethods,
    /// Set or remove the customer's alerts (`alerts_manage`).
    ManageAlerts,
    /// Deactivate an activation of the customer's license keys (`license_manage`).
    ManageLicenses,
    PayInvoices,
    /// Correct the billing details of an issued invoice: granted with the `billing` profile
    /// field (the same details the customer may edit on its profile).
    ReviseInvoices,
}

impl Actor<'_> {
    /// Refuses a customer's write the session does not allow (403 `read_only_session` for an
    /// admin preview, `action_not_allowed` without the permission).
    pub fn may(&self, permission: Permission) -> DomainResult<()> {
        let Actor::Customer(session) = self else {
            return Ok(());
        };
        session.require_write()?;
        let granted = &session.permissions;
        let refused = match permission {
            Permission::CancelSubscription { immediate } => {
                if !granted.subscription_cancel.enabled {
                    Some("This session may not cancel subscriptions.")
                } else if immediate && granted.subscription_cancel.mode != CancelMode::Immediately {
                    Some("This session may only cancel at the end of the period.")
                } else {
                    None
                }
            }
            Permission::ChangePlan => {
                (!granted.plan_change.enabled).then_some("This session may not change plans.")
            }
            Permission::ChangeQuantity => (!granted.quantity_change.enabled)
                .then_some("This session may not change the number of seats."),
            Permission::RedeemPromotionCode => (!granted.promotion_code_redeem.enabled)
                .then_some("This session may not redeem promotion codes."),
            Permission::ManagePaymentMethods => (!granted.payment_method_manage.enabled)
                .then_some("This session may not change payment methods."),
            Permission::ManageAlerts => {
                (!granted.alerts_manage.enabled).then_some("This session may not change alerts.")
            }
            Permission::ManageLicenses => (!granted.license_manage.enabled)
                .then_some("This session may not deactivate license activations."),
            Permission::PayInvoices => {
                (!granted.invoice_pay.enabled).then_some("This session may not pay invoices.")
            }
            Permission::ReviseInvoices => (!granted
                .profile_update
                .allowed_fields
                .contains(&crate::portal_session::ProfileField::Billing))
            .then_some("This session may not change billing details."),
        };
        match refused {
            None => Ok(()),
            Some(message) => Err(DomainError::Forbidden {
                code: ErrorCode::ActionNotAllowed,
                message: message.into(),
            }),
        }
    }

    /// The audit entry of a customer's write (`None` for the merchant and the system, whose
    /// keys and runs are recorded elsewhere).
    pub fn audit(&self, action: &str) -> Option<AuditEvent> {
        match self {
            Actor::Customer(session) => Some(AuditEvent::by_session(session, action)),
            Actor::Merchant | Actor::System => None,
        }
    }
}
