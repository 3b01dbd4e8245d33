//! The audit log of who did what.

pub mod admin;
pub mod dto;
