//! The billing portal's HTTP API: actix-web handlers annotated with utoipa, so the OpenAPI
//! document is derived from the code that runs.
//!
//! route → handler (`routes`) → domain service (`domain::services`) → port → diesel repository.

pub mod config;
pub mod demo;
pub mod error;
pub mod export;
pub mod extract;
pub mod hosted_portal;
pub mod i18n;
pub mod idempotency;
pub mod limits;
pub mod logging;
pub mod mail;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod pagination;
pub mod pdf;
pub mod pdf_text;
pub mod routes;
pub mod schema;
pub mod server;
pub mod state;
pub mod timestamps;
pub mod tokens;
pub mod traces;
pub mod webhooks;
pub mod workers;

pub use server::{build_app, openapi_spec};
