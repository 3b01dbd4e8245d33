//! Plans: the merchant's catalogue (admin) and the public plans a customer may see (portal).

pub mod admin;
pub mod dto;
pub mod portal;
