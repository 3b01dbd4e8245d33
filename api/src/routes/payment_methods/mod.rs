//! Saved payment methods of a customer: records of the provider's tokens with display fields.
//! The merchant's backend adds and updates them; the merchant and (when the session allows it)
//! the customer make one the default or remove one.

pub mod admin;
pub mod dto;
pub mod portal;
