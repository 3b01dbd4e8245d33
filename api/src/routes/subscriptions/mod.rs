//! Subscriptions: created and canceled by the merchant (admin); seen, canceled and uncanceled by
//! the customer when the session allows it (portal).

pub mod admin;
pub mod discount;
pub mod dto;
pub mod portal;
