//! Coupons: what a discount takes off and for how long (the merchant's).

pub mod admin;
pub mod dto;
