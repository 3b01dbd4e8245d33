//! Usage analytics from rollups: series and breakdown with cost, for admin and portal.

pub mod admin;
pub mod dto;
pub mod portal;
