//! The billing portal's model and rules. Pure Rust: no web, database or OpenAPI crate here;
//! adapters (`storage`, `api`) depend on this crate, never the other way round.

pub mod api_key;
pub mod audit;
pub mod clock;
pub mod customer;
pub mod error;
pub mod id;
pub mod idempotency;
pub mod invoice;
pub mod money;
pub mod page;
pub mod payment;
pub mod portal_session;
pub mod ports;
pub mod scope;
pub mod services;
pub mod usage;
pub mod wallet;

pub use error::{DomainError, DomainResult, ErrorCode, FieldError};
