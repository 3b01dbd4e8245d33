//! Alerts customers set on their usage, spend and credit balance (see `domain::alert`): in the
//! portal for the customer, and under the customer for the merchant.

pub mod admin;
pub mod dto;
pub mod portal;
