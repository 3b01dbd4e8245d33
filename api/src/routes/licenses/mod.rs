//! License keys (see `domain::license`): the merchant's (`admin`), the customer's in the portal
//! (`portal`), and the public routes the merchant's software calls with the key itself
//! (`public`).

pub mod admin;
pub mod dto;
pub mod portal;
pub mod public;
