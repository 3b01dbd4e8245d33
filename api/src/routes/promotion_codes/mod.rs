//! Promotion codes: what a customer types to get a coupon (the merchant's).

pub mod admin;
pub mod dto;
