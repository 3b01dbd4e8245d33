//! Prepaid wallets: credits, top-ups, debits, the ledger.

pub mod admin;
pub mod dto;
pub mod portal;
