use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::api_key::{ApiKey, StoredKey};
use domain::page::{Page, PageRequest};
use domain::ports::ApiKeyRepo;
use domain::services::api_keys::not_found;
use domain::ErrorCode;
use domain::{DomainError, DomainResult};

use super::stored::stored_id;
use super::{internal, newest_first, TxError};
use crate::connection::DbConnection;
use crate::schema::{api_keys, tenants};
use crate::sql_types::DbTime;
use crate::Store;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys)]
struct KeyRow {
    id: String,
    tenant_id: String,
    name: String,
    prefix: String,
    secret_hash: String,
    created_at: DbTime,
    last_used_at: Option<DbTime>,
    revoked_at: Option<DbTime>,
}

impl KeyRow {
    fn new(k: &ApiKey, secret_hash: &str) -> Self {
        Self {
            id: k.id.to_string(),
            tenant_id: k.tenant_id.to_string(),
            name: k.name.clone(),
            prefix: k.prefix.clone(),
            secret_hash: secret_hash.to_owned(),
            created_at: DbTime(k.created_at),
            last_used_at: k.last_used_at.map(DbTime),
            revoked_at: k.revoked_at.map(DbTime),
        }
    }

    fn into_stored(self) -> DomainResult<StoredKey> {
        Ok(StoredKey {
            secret_hash: self.secret_hash,
            key: ApiKey {
                id: stored_id(&self.id)?,
                tenant_id: self.tenant_id.into(),
                name: self.name,
                prefix: self.prefix,
                created_at: self.created_at.0,
                last_used_at: self.last_used_at.map(|t| t.0),
                revoked_at: self.revoked_at.map(|t| t.0),
            },
        })
    }
}

/// Serialises administrative changes within one tenant: a row lock on the tenant on
/// PostgreSQL; on SQLite the `BEGIN IMMEDIATE` of [`write_tx`] already excludes other writers.
fn lock_tenant(conn: &mut DbConnection, tenant_id: &domain::id::TenantId) -> QueryResult<()> {
    if let DbConnection::Postgres(pg) = conn {
        tenants::table
            .filter(tenants::id.eq(tenant_id.as_str()))
            .select(tenants::id)
            .for_update()
            .first::<String>(pg)?;
    }
    Ok(())
}

impl ApiKeyRepo for Store {
    fn create_tenant(
        &self,
        tenant_id: &domain::id::TenantId,
        tenant_name: &str,
        key: &ApiKey,
        secret_hash: &str,
        only_if_empty: bool,
    ) -> DomainResult<bool> {
        let mut conn = self.conn()?;
        conn.write(|c| {
            if only_if_empty {
                if let DbConnection::Postgres(pg) = c {
                    // Nodes starting together on an empty database must create one tenant, not N.
                    diesel::sql_query("SELECT pg_advisory_xact_lock(72170001)").execute(pg)?;
                }
                let existing: i64 = tenants::table.count().get_result(c)?;
                if existing > 0 {
                    return Ok(false);
                }
            }
            diesel::insert_into(tenants::table)
                .values((
                    tenants::id.eq(tenant_id.as_str()),
                    tenants::name.eq(tenant_name),
                    tenants::created_at.eq(DbTime(key.created_at)),
                ))
                .execute(c)?;
            diesel::insert_into(api_keys::table)
                .values(KeyRow::new(key, secret_hash))
                .execute(c)?;
            Ok(true)
        })
        .map_err(internal)
    }

    fn insert(&self, key: &ApiKey, secret_hash: &str) -> DomainResult<()> {
        let mut conn = self.conn()?;
        diesel::insert_into(api_keys::table)
            .values(KeyRow::new(key, secret_hash))
            .execute(&mut *conn)
            .map_err(internal)?;
        Ok(())
    }

    fn find_by_prefix(&self, prefix: &str) -> DomainResult<Vec<StoredKey>> {
        let mut conn = self.conn()?;
        let rows: Vec<KeyRow> = api_keys::table
            .filter(api_keys::prefix.eq(prefix))
            .select(KeyRow::as_select())
            .load(&mut *conn)
            .map_err(internal)?;
        rows.into_iter().map(KeyRow::into_stored).collect()
    }

    fn touch(
        &self,
        tenant_id: &domain::id::TenantId,
        key_id: &domain::id::ApiKeyId,
        now: DateTime<Utc>,
    ) -> DomainResult<()> {
        let mut conn = self.conn()?;
        let this = api_keys::table
            .filter(api_keys::tenant_id.eq(tenant_id.as_str()))
            .filter(api_keys::id.eq(key_id.as_str()));
        diesel::update(this)
            .set(api_keys::last_used_at.eq(DbTime(now)))
            .execute(&mut *conn)
            .map_err(internal)?;
        Ok(())
    }

    fn list(
        &self,
        tenant_id: &domain::id::TenantId,
        page: &PageRequest,
    ) -> DomainResult<Page<ApiKey>> {
        let mut conn = self.conn()?;
        let q = api_keys::table
            .filter(api_keys::tenant_id.eq(tenant_id.as_str()))
            .select(KeyRow::as_select())
            .into_boxed();
        let rows = newest_first!(q, api_keys::id, page, &mut *conn).map_err(internal)?;
        let keys = rows
            .into_iter()
            .map(|r| r.into_stored().map(|s| s.key))
            .collect::<DomainResult<Vec<_>>>()?;
        Ok(Page::from_rows(keys, page, |k: &ApiKey| &k.id))
    }

    fn get(
        &self,
        tenant_id: &domain::id::TenantId,
        id: &domain::id::ApiKeyId,
    ) -> DomainResult<Option<ApiKey>> {
        let mut conn = self.conn()?;
        let row = api_keys::table
            .filter(api_keys::tenant_id.eq(tenant_id.as_str()))
            .filter(api_keys::id.eq(id.as_str()))
            .select(KeyRow::as_select())
            .first(&mut *conn)
            .optional()
            .map_err(internal)?;
        row.map(|r| r.into_stored().map(|s| s.key)).transpose()
    }

    fn revoke(
        &self,
        tenant_id: &domain::id::TenantId,
        id: &domain::id::ApiKeyId,
        now: DateTime<Utc>,
    ) -> DomainResult<ApiKey> {
        let mut conn = self.conn()?;
        conn.write(|c| -> Result<ApiKey, TxError> {
            lock_tenant(c, tenant_id)?;
            let mine = api_keys::table.filter(api_keys::tenant_id.eq(tenant_id.as_str()));
            let row = mine.filter(api_keys::id.eq(id.as_str())).select(KeyRow::as_select()).first(c).optional()?;
            let mut key = row.ok_or_else(not_found)?.into_stored()?.key;
            if key.revoked_at.is_some() {
                return Ok(key);
            }
            let active: i64 = mine.filter(api_keys::revoked_at.is_null()).count().get_result(c)?;
            if active <= 1 {
                return Err(DomainError::Conflict {
                    code: ErrorCode::LastActiveKey,
                    message: "the last active API key of an account cannot be revoked; create another key first".into(),
                }
                .into());
            }
            diesel::update(mine.filter(api_keys::id.eq(id.as_str()))).set(api_keys::revoked_at.eq(DbTime(now))).execute(c)?;
            key.revoked_at = Some(now);
            Ok(key)
        })
        .map_err(|e| e.into_domain(|| DomainError::internal("unexpected unique violation")))
    }

    fn tenant_ids(&self) -> DomainResult<Vec<domain::id::TenantId>> {
        let mut conn = self.conn()?;
        let ids: Vec<String> = tenants::table
            .select(tenants::id)
            .order(tenants::id.asc())
            .load(&mut *conn)
            .map_err(internal)?;
        Ok(ids.into_iter().map(Into::into).collect())
    }
}
