//! The customer dashboard: the admin view of any customer, the portal view of one's own.

pub mod admin;
pub mod dto;
pub mod portal;
