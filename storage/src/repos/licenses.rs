//! License keys (`license_keys`: sealed, found by digest, unique per subscription) and their
//! activations (`license_activations`). A key's `activations` counts its live ones and moves
//! only by conditional updates, so the activation limit holds under racing activations on both
//! backends (PostgreSQL re-checks the condition on the row it waited for; SQLite runs one
//! writer at a time).

use diesel::prelude::*;
use domain::id::{ActivationId, LicenseKeyId, TenantId};
use domain::license::{LicenseActivation, LicenseKey, LicenseKeyFilter};
use domain::page::{Page, PageRequest};
use domain::ports::LicenseKeyRepo;
use domain::DomainResult;

use super::stored::{stored_id, Stored};
use super::{internal, newest_first};
use crate::connection::DbConnection;
use crate::schema::{license_activations as la, license_keys as lk, subscriptions as sb};
use crate::sql_types::DbTime;
use crate::Store;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = lk)]
struct KeyRow {
    id: String,
    tenant_id: String,
    customer_id: String,
    subscription_id: Option<String>,
    sealed_key: String,
    key_digest: String,
    activation_limit: Option<i32>,
    activations: i32,
    with_subscription: bool,
    expires_at: Option<DbTime>,
    disabled_at: Option<DbTime>,
    created_at: DbTime,
}

/// A key with when its subscription ended.
type Joined = (KeyRow, Option<DbTime>);

fn key_of((row, ended): Joined) -> DomainResult<LicenseKey> {
    let stored = Stored {
        kind: "license key",
        id: &row.id,
    };
    let count = |column: &str, v: i32| u32::try_from(v).map_err(|_| stored.damaged(column));
    Ok(LicenseKey {
        id: stored_id(&row.id)?,
        customer_id: stored_id(&row.customer_id)?,
        subscription_id: row.subscription_id.as_deref().map(stored_id).transpose()?,
        activation_limit: row
            .activation_limit
            .map(|l| count("activation_limit", l))
            .transpose()?,
        activations: count("activations", row.activations)?,
        tenant_id: row.tenant_id.into(),
        key: row.sealed_key,
        with_subscription: row.with_subscription,
        expires_at: row.expires_at.map(|t| t.0),
        subscription_ended_at: ended.map(|t| t.0),
        disabled_at: row.disabled_at.map(|t| t.0),
        created_at: row.created_at.0,
    })
}

fn keys(found: Vec<Joined>) -> DomainResult<Vec<LicenseKey>> {
    found.into_iter().map(key_of).collect()
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = la)]
struct ActivationRow {
    id: String,
    tenant_id: String,
    license_key_id: String,
    label: String,
    created_at: DbTime,
    deactivated_at: Option<DbTime>,
}

impl ActivationRow {
    fn into_domain(self) -> DomainResult<LicenseActivation> {
        Ok(LicenseActivation {
            id: stored_id(&self.id)?,
            license_key_id: stored_id(&self.license_key_id)?,
            tenant_id: self.tenant_id.into(),
            label: self.label,
            created_at: self.created_at.0,
            deactivated_at: self.deactivated_at.map(|t| t.0),
        })
    }
}

/// Keys with their subscription's end.
macro_rules! joined {
    () => {
        lk::table
            .left_join(sb::table)
            .select((KeyRow::as_select(), sb::ended_at.nullable()))
    };
}

impl LicenseKeyRepo for Store {
    fn insert(&self, key: &LicenseKey, digest: &str) -> DomainResult<bool> {
        let mut conn = self.conn()?;
        let row = KeyRow {
            id: key.id.to_string(),
            tenant_id: key.tenant_id.to_string(),
            customer_id: key.customer_id.to_string(),
            subscription_id: key.subscription_id.as_ref().map(ToString::to_string),
            sealed_key: key.key.clone(),
            key_digest: digest.to_owned(),
            // Bounded by license::MAX_ACTIVATION_LIMIT.
            activation_limit: key
                .activation_limit
                .map(|l| i32::try_from(l).unwrap_or(i32::MAX)),
            activations: 0,
            with_subscription: key.with_subscription,
            expires_at: key.expires_at.map(DbTime),
            disabled_at: key.disabled_at.map(DbTime),
            created_at: DbTime(key.created_at),
        };
        let insert = diesel::insert_into(lk::table).values(row);
        // Unique per subscription: a retry or a racing replica's key is not stored.
        let n = match &mut *conn {
            DbConnection::Postgres(pg) => insert.on_conflict_do_nothing().execute(pg),
            DbConnection::Sqlite(sq) => insert.on_conflict_do_nothing().execute(sq),
        }
        .map_err(internal)?;
        Ok(n == 1)
    }

    fn get(&self, tenant_id: &TenantId, id: &LicenseKeyId) -> DomainResult<Option<LicenseKey>> {
        let mut conn = self.conn()?;
        let found: Option<Joined> = joined!()
            .filter(lk::tenant_id.eq(tenant_id.as_str()))
            .filter(lk::id.eq(id.as_str()))
            .first(&mut *conn)
            .optional()
            .map_err(internal)?;
        found.map(key_of).transpose()
    }

    fn by_digest(&self, digest: &str) -> DomainResult<Option<LicenseKey>> {
        let mut conn = self.conn()?;
        let found: Option<Joined> = joined!()
            .filter(lk::key_digest.eq(digest))
            .first(&mut *conn)
            .optional()
            .map_err(internal)?;
        found.map(key_of).transpose()
    }

    fn list(
        &self,
        tenant_id: &TenantId,
        filter: &LicenseKeyFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<LicenseKey>> {
        let mut conn = self.conn()?;
        let mut q = joined!()
            .filter(lk::tenant_id.eq(tenant_id.as_str()))
            .into_boxed();
        if let Some(c) = &filter.customer_id {
            q = q.filter(lk::customer_id.eq(c.as_str()));
        }
        if let Some(s) = &filter.subscription_id {
            q = q.filter(lk::subscription_id.eq(s.as_str()));
        }
        let found: Vec<Joined> = newest_first!(q, lk::id, page, &mut *conn).map_err(internal)?;
        Ok(Page::from_rows(keys(found)?, page, |k: &LicenseKey| {
            k.id.as_str()
        }))
    }

    fn set_disabled(
        &self,
        tenant_id: &TenantId,
        id: &LicenseKeyId,
        at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> DomainResult<bool> {
        let mut conn = self.conn()?;
        let key = lk::table
            .filter(lk::tenant_id.eq(tenant_id.as_str()))
            .filter(lk::id.eq(id.as_str()));
        let n = match at {
            Some(at) => diesel::update(key.filter(lk::disabled_at.is_null()))
                .set(lk::disabled_at.eq(DbTime(at)))
                .execute(&mut *conn),
            None => diesel::update(key.filter(lk::disabled_at.is_not_null()))
                .set(lk::disabled_at.eq(None::<DbTime>))
                .execute(&mut *conn),
        }
        .map_err(internal)?;
        Ok(n == 1)
    }

    fn activations(
        &self,
        tenant_id: &TenantId,
        keys: &[LicenseKeyId],
    ) -> DomainResult<Vec<LicenseActivation>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.conn()?;
        let ids: Vec<&str> = keys.iter().map(LicenseKeyId::as_str).collect();
        let found: Vec<ActivationRow> = la::table
            .filter(la::tenant_id.eq(tenant_id.as_str()))
            .filter(la::license_key_id.eq_any(&ids))
            .order(la::id.asc())
            .select(ActivationRow::as_select())
            .load(&mut *conn)
            .map_err(internal)?;
        found.into_iter().map(ActivationRow::into_domain).collect()
    }

    fn activate(&self, a: &LicenseActivation) -> DomainResult<bool> {
        self.in_unit(|| {
            let mut conn = self.conn()?;
            // One statement decides: the key is enabled and under its limit, and counts one
            // more. A racing activation waits for this row and re-checks the condition.
            let admitted = diesel::update(
                lk::table
                    .filter(lk::tenant_id.eq(a.tenant_id.as_str()))
                    .filter(lk::id.eq(a.license_key_id.as_str()))
                    .filter(lk::disabled_at.is_null())
                    .filter(
                        lk::activation_limit
                            .is_null()
                            .or(lk::activations.nullable().lt(lk::activation_limit)),
                    ),
            )
            .set(lk::activations.eq(lk::activations + 1))
            .execute(&mut *conn)
            .map_err(internal)?;
            if admitted != 1 {
                return Ok(false);
            }
            diesel::insert_into(la::table)
                .values(ActivationRow {
                    id: a.id.to_string(),
                    tenant_id: a.tenant_id.to_string(),
                    license_key_id: a.license_key_id.to_string(),
                    label: a.label.clone(),
                    created_at: DbTime(a.created_at),
                    deactivated_at: None,
                })
                .execute(&mut *conn)
                .map_err(internal)?;
            Ok(true)
        })
    }

    fn deactivate(
        &self,
        tenant_id: &TenantId,
        key: &LicenseKeyId,
        activation: &ActivationId,
        at: chrono::DateTime<chrono::Utc>,
    ) -> DomainResult<bool> {
        self.in_unit(|| {
            let mut conn = self.conn()?;
            let ended = diesel::update(
                la::table
                    .filter(la::tenant_id.eq(tenant_id.as_str()))
                    .filter(la::license_key_id.eq(key.as_str()))
                    .filter(la::id.eq(activation.as_str()))
                    .filter(la::deactivated_at.is_null()),
            )
            .set(la::deactivated_at.eq(DbTime(at)))
            .execute(&mut *conn)
            .map_err(internal)?;
            if ended != 1 {
                return Ok(false);
            }
            diesel::update(
                lk::table
                    .filter(lk::tenant_id.eq(tenant_id.as_str()))
                    .filter(lk::id.eq(key.as_str())),
            )
            .set(lk::activations.eq(lk::activations - 1))
            .execute(&mut *conn)
            .map_err(internal)?;
            Ok(true)
        })
    }
}
