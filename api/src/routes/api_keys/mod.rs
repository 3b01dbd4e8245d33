//! API keys: create, list, revoke.

pub mod admin;
pub mod dto;
