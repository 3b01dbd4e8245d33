//! Payments and refunds of invoices; the portal lists its own.

pub mod admin;
pub mod dto;
pub mod portal;
