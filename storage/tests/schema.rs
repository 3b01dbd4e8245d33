//! The schema is ready to be distributed by account (Citus, `create_distributed_table(…,
//! 'tenant_id')`): read from each backend's own catalog after the migrations, every table carries
//! `tenant_id`, its primary key and every unique key lead with it, and every foreign key between
//! account tables includes it on both sides. A table that breaks a rule fails the test by name.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::collections::BTreeMap;

use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Bool, Nullable, Text};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, SqliteConnection};
use storage::{DatabaseUrl, Store};

mod common;

/// Tables that are not distributed by account, and why.
const NOT_DISTRIBUTED: &[(&str, &str)] = &[
    // The accounts themselves: one small row each, read by id on many requests, rarely written.
    (
        "tenants",
        "a reference table, copied to every node (docs/scaling.md)",
    ),
    // Diesel's record of applied migrations: on the coordinator only.
    (
        "__diesel_schema_migrations",
        "migration bookkeeping, coordinator only",
    ),
];

#[derive(Debug, Default)]
struct Table {
    columns: Vec<(String, bool)>, // (name, not null)
    primary_key: Vec<String>,
    /// Unique indexes and constraints other than the primary key; an expression is "<expr>".
    unique: Vec<(String, Vec<String>)>,
    /// (name, columns, referenced table, referenced columns)
    foreign_keys: Vec<(String, Vec<String>, String, Vec<String>)>,
}

type Schema = BTreeMap<String, Table>;

/// Every way the schema breaks the rules, one line each.
fn violations(schema: &Schema) -> Vec<String> {
    let mut found = Vec::new();
    let root = |t: &str| NOT_DISTRIBUTED.iter().any(|(n, _)| *n == t);
    for (name, t) in schema {
        if root(name) {
            continue;
        }
        if !t
            .columns
            .iter()
            .any(|(c, not_null)| c == "tenant_id" && *not_null)
        {
            found.push(format!("{name}: no NOT NULL tenant_id column"));
        }
        if t.primary_key.first().map(String::as_str) != Some("tenant_id") {
            found.push(format!(
                "{name}: primary key {:?} does not lead with tenant_id",
                t.primary_key
            ));
        }
        for (index, cols) in &t.unique {
            if cols.first().map(String::as_str) != Some("tenant_id") {
                found.push(format!(
                    "{name}: unique key {index} {cols:?} does not lead with tenant_id"
                ));
            }
        }
        for (fk, cols, target, target_cols) in &t.foreign_keys {
            let pairs: Vec<(&str, &str)> = cols
                .iter()
                .map(String::as_str)
                .zip(target_cols.iter().map(String::as_str))
                .collect();
            let ok = if target == "tenants" {
                pairs == [("tenant_id", "id")]
            } else {
                pairs.contains(&("tenant_id", "tenant_id"))
            };
            if !ok {
                found.push(format!(
                    "{name}: foreign key {fk} {cols:?} -> {target} {target_cols:?} does not carry tenant_id"
                ));
            }
        }
    }
    found
}

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Bool)]
    not_null: bool,
}

#[derive(QueryableByName)]
struct Key {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    key_name: String,
    /// p: primary, u: unique, f: foreign
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = BigInt)]
    position: i64,
    #[diesel(sql_type = Nullable<Text>)]
    column_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    target_table: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    target_column: Option<String>,
}

fn assemble(columns: Vec<Column>, keys: Vec<Key>) -> Schema {
    let mut schema = Schema::new();
    for c in columns {
        let t = schema.entry(c.table_name).or_default();
        t.columns.push((c.column_name, c.not_null));
    }
    let mut keys = keys;
    keys.sort_by(|a, b| {
        (&a.table_name, &a.key_name, a.position).cmp(&(&b.table_name, &b.key_name, b.position))
    });
    for k in keys {
        let t = schema.entry(k.table_name).or_default();
        let col = k.column_name.unwrap_or_else(|| "<expr>".into());
        match k.kind.as_str() {
            "p" => t.primary_key.push(col),
            "u" => match t.unique.iter_mut().find(|(n, _)| *n == k.key_name) {
                Some((_, cols)) => cols.push(col),
                None => t.unique.push((k.key_name, vec![col])),
            },
            _ => match t.foreign_keys.iter_mut().find(|f| f.0 == k.key_name) {
                Some(f) => {
                    f.1.push(col);
                    f.3.push(k.target_column.unwrap_or_default());
                }
                None => t.foreign_keys.push((
                    k.key_name,
                    vec![col],
                    k.target_table.unwrap_or_default(),
                    vec![k.target_column.unwrap_or_default()],
                )),
            },
        }
    }
    schema
}

/// PostgreSQL's catalog: pg_attribute, pg_index (unique indexes, partial ones included, and
/// expressions as "<expr>"), pg_constraint for foreign keys.
fn postgres_schema(conn: &mut PgConnection) -> Schema {
    let columns: Vec<Column> = diesel::sql_query(
        "SELECT c.relname::text AS table_name, a.attname::text AS column_name, a.attnotnull AS not_null
         FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
         WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')
           AND a.attnum > 0 AND NOT a.attisdropped",
    )
    .load(conn)
    .unwrap();
    let keys: Vec<Key> = diesel::sql_query(
        "SELECT c.relname::text AS table_name, i.relname::text AS key_name,
                CASE WHEN x.indisprimary THEN 'p' ELSE 'u' END AS kind, k.n AS position,
                a.attname::text AS column_name, NULL::text AS target_table, NULL::text AS target_column
         FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
         CROSS JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
         LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum AND k.attnum > 0
         WHERE c.relnamespace = current_schema()::regnamespace AND x.indisunique
           AND k.n <= x.indnkeyatts
         UNION ALL
         SELECT c.relname::text, con.conname::text, 'f', k.n, a.attname::text, r.relname::text, ra.attname::text
         FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_class r ON r.oid = con.confrelid
         CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(attnum, fattnum, n)
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
         JOIN pg_attribute ra ON ra.attrelid = r.oid AND ra.attnum = k.fattnum
         WHERE c.relnamespace = current_schema()::regnamespace AND con.contype = 'f'",
    )
    .load(conn)
    .unwrap();
    assemble(columns, keys)
}

/// SQLite's catalog, through its pragma functions.
fn sqlite_schema(conn: &mut SqliteConnection) -> Schema {
    const TABLES: &str =
        "SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%' \
        AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '%_search_%'";
    let columns: Vec<Column> = diesel::sql_query(format!(
        "SELECT t.name AS table_name, c.name AS column_name, (c.\"notnull\" OR c.pk > 0) AS not_null
         FROM ({TABLES}) t, pragma_table_info(t.name) c"
    ))
    .load(conn)
    .unwrap();
    let keys: Vec<Key> = diesel::sql_query(format!(
        "SELECT t.name AS table_name, 'pk' AS key_name, 'p' AS kind, c.pk AS position, c.name AS column_name,
                NULL AS target_table, NULL AS target_column
         FROM ({TABLES}) t, pragma_table_info(t.name) c WHERE c.pk > 0
         UNION ALL
         SELECT t.name, l.name, 'u', i.seqno, i.name, NULL, NULL
         FROM ({TABLES}) t, pragma_index_list(t.name) l, pragma_index_xinfo(l.name) i
         WHERE l.\"unique\" AND l.origin <> 'pk' AND i.key
         UNION ALL
         SELECT t.name, 'fk' || f.id, 'f', f.seq, f.\"from\", f.\"table\", f.\"to\"
         FROM ({TABLES}) t, pragma_foreign_key_list(t.name) f"
    ))
    .load(conn)
    .unwrap();
    assemble(columns, keys)
}

fn check(schema: &Schema, backend: &str) {
    assert!(schema.len() > 30, "{backend}: read {} tables", schema.len());
    let found = violations(schema);
    assert!(
        found.is_empty(),
        "{backend}: the schema cannot be distributed by account:\n{}",
        found.join("\n")
    );
}

/// The rules catch what they are for: a table keyed on `id` alone, a global unique key and a
/// foreign key on the id alone are each named.
fn check_catches(conn_exec: &mut dyn FnMut(&str), read: &mut dyn FnMut() -> Schema, backend: &str) {
    conn_exec(
        "CREATE TABLE bad_parent (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, code TEXT UNIQUE);
         CREATE TABLE bad_child (tenant_id TEXT NOT NULL, id TEXT NOT NULL, parent_id TEXT REFERENCES bad_parent (id),
                                 PRIMARY KEY (tenant_id, id));",
    );
    let found = violations(&read());
    let named = |needle: &str| found.iter().any(|v| v.contains(needle));
    assert!(named("bad_parent: primary key"), "{backend}: {found:?}");
    assert!(named("bad_parent: unique key"), "{backend}: {found:?}");
    assert!(named("bad_child: foreign key"), "{backend}: {found:?}");
    assert_eq!(
        found.len(),
        3,
        "{backend}: only the planted faults: {found:?}"
    );
}

#[test]
fn sqlite_schema_is_tenant_leading() {
    let dir = tempfile::tempdir().unwrap();
    let url = DatabaseUrl::sqlite_in(dir.path());
    Store::connect(&url, 1).unwrap().migrate().unwrap();
    let DatabaseUrl::Sqlite(path) = &url else {
        unreachable!()
    };
    let conn = std::cell::RefCell::new(SqliteConnection::establish(path).unwrap());
    check(&sqlite_schema(&mut conn.borrow_mut()), "SQLite");
    check_catches(
        &mut |sql| conn.borrow_mut().batch_execute(sql).unwrap(),
        &mut || sqlite_schema(&mut conn.borrow_mut()),
        "SQLite",
    );
}

#[test]
fn postgres_schema_is_tenant_leading() {
    common::in_postgres_schema("schema", |url| {
        Store::connect(&DatabaseUrl::parse(url).unwrap(), 1)
            .unwrap()
            .migrate()
            .unwrap();
        let conn = std::cell::RefCell::new(PgConnection::establish(url).unwrap());
        check(&postgres_schema(&mut conn.borrow_mut()), "PostgreSQL");
        check_catches(
            &mut |sql| conn.borrow_mut().batch_execute(sql).unwrap(),
            &mut || postgres_schema(&mut conn.borrow_mut()),
            "PostgreSQL",
        );
    });
}
