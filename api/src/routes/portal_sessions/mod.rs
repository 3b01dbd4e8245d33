//! Portal sessions: created by the merchant (admin), exchanged and ended by the customer (portal).

pub mod admin;
pub mod dto;
pub mod portal;
