//! The merchant's account (the `tenants` row) and its settings document.

use diesel::prelude::*;
use domain::account::Account;
use domain::ports::AccountRepo;
use domain::{DomainError, DomainResult};

use super::stored::{json, Stored};
use super::{first_locked, internal, TxError};
use crate::prepared::Prepare;
use crate::schema::tenants;
use crate::sql_types::DbTime;
use crate::Store;

#[derive(Queryable, Selectable)]
#[diesel(table_name = tenants)]
struct AccountRow {
    id: String,
    name: String,
    created_at: DbTime,
    settings: String,
}

impl AccountRow {
    fn into_domain(self) -> DomainResult<Account> {
        let row = Stored {
            kind: "account",
            id: &self.id,
        };
        Ok(Account {
            settings: row.json("settings", &self.settings)?,
            id: self.id,
            name: self.name,
            created_at: self.created_at.0,
        })
    }
}

impl AccountRepo for Store {
    fn get(&self, tenant_id: &domain::id::TenantId) -> DomainResult<Option<Account>> {
        let mut conn = self.conn()?;
        tenants::table
            .filter(tenants::id.eq(tenant_id.as_str()))
            .select(AccountRow::as_select())
            .first(&mut *conn)
            .optional()
            .map_err(internal)?
            .map(AccountRow::into_domain)
            .transpose()
    }

    fn change(
        &self,
        tenant_id: &domain::id::TenantId,
        change: &mut dyn FnMut(&mut Account) -> DomainResult<()>,
    ) -> DomainResult<Account> {
        let mut conn = self.conn()?;
        conn.write(|c| -> Result<Account, TxError> {
            let this = tenants::table.filter(tenants::id.eq(tenant_id.as_str()));
            let row = first_locked!(c, this.select(AccountRow::as_select()))?;
            let mut account = row
                .ok_or_else(|| DomainError::internal(format!("account {tenant_id} is missing")))?
                .into_domain()?;
            change(&mut account)?;
            diesel::update(this)
                .set((
                    tenants::name.eq(&account.name),
                    tenants::settings.eq(json(&account.settings)),
                ))
                .prepared()
                .execute(c)?;
            Ok(account)
        })
        .map_err(|e| e.into_domain(|| DomainError::internal("unique violation on tenants")))
    }
}
