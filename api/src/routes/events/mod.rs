//! Usage events: ingestion (one or a batch) and the raw event list.

pub mod admin;
pub mod dto;
