//! Customers: the admin CRUD and the portal profile.

pub mod admin;
pub mod dto;
pub mod portal;
