//! Credit notes: issued on a finalized invoice by the merchant, seen (with PDFs) by both.

pub mod admin;
pub mod dto;
pub mod portal;
