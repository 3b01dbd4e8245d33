//! Invoices: drafts, finalization, PDFs; the portal sees issued ones only.

pub mod admin;
pub mod dto;
pub mod portal;
