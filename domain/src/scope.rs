//! Whose data a call may see: a whole account (an admin key) or one customer of an account (a
//! portal session, or an admin looking at one customer). Services hand the scope to the
//! repositories, which filter by it, so a customer-scoped read cannot return another customer's
//! object: it is simply not found.

use crate::id::{CustomerId, TenantId};

/// One customer of one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerScope {
    pub tenant_id: TenantId,
    pub customer_id: CustomerId,
}

impl CustomerScope {
    pub fn new(tenant_id: &TenantId, customer_id: &CustomerId) -> Self {
        Self {
            tenant_id: tenant_id.clone(),
            customer_id: customer_id.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Everything of the account.
    Account { tenant_id: TenantId },
    /// Only what belongs to this customer.
    Customer(CustomerScope),
}

impl Scope {
    pub fn account(tenant_id: &TenantId) -> Self {
        Scope::Account {
            tenant_id: tenant_id.clone(),
        }
    }

    pub fn tenant_id(&self) -> &TenantId {
        match self {
            Scope::Account { tenant_id } => tenant_id,
            Scope::Customer(c) => &c.tenant_id,
        }
    }

    /// The customer every object must belong to, if the scope is one customer.
    pub fn customer_id(&self) -> Option<&CustomerId> {
        match self {
            Scope::Account { .. } => None,
            Scope::Customer(c) => Some(&c.customer_id),
        }
    }

    /// Whether an object of `customer_id` is inside the scope.
    pub fn admits(&self, customer_id: &str) -> bool {
        self.customer_id().is_none_or(|c| c == customer_id)
    }
}

impl From<CustomerScope> for Scope {
    fn from(c: CustomerScope) -> Self {
        Scope::Customer(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_customer_scope_admits_only_its_customer() {
        let ten = TenantId::from("ten_a");
        let (one, two) = (CustomerId::new(), CustomerId::new());
        let s = Scope::from(CustomerScope::new(&ten, &one));
        assert_eq!(s.tenant_id().as_str(), "ten_a");
        assert!(s.admits(&one));
        assert!(!s.admits(&two));
        let a = Scope::account(&ten);
        assert!(a.admits(&one) && a.admits(&two));
        assert_eq!(a.customer_id(), None);
    }
}
