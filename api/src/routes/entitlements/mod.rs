//! Entitlements: what a customer's subscriptions grant and how much this period has used; a
//! check route for merchants' hot paths.

pub mod admin;
pub mod dto;
pub mod portal;
