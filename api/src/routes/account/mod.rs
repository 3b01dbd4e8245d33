//! The merchant's account: name, address, support contacts and branding (admin), and the
//! branding a portal frontend renders (portal).

pub mod admin;
pub mod dto;
pub mod portal;
