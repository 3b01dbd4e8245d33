//! Webhooks (admin only): endpoints with their signing secrets, the catalogue of events sent,
//! and the delivery log with retry and replay. The worker that sends them is `crate::webhooks`.

pub mod admin;
pub mod dto;
