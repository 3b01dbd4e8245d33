//! Tax rates: the merchant's rates, applied to invoice lines (see `domain::tax`).

pub mod admin;
pub mod dto;
