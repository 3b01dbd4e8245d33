//! A customer's activity history: what happened on their account (payments, refunds, wallet
//! movements, invoices, their own portal changes), for the merchant and in the portal.

pub mod admin;
pub mod dto;
pub mod portal;
