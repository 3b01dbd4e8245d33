//! The billing log (admin only): what the billing worker and test clocks did, per subscription
//! and period, failures with their reasons.

pub mod admin;
pub mod dto;
