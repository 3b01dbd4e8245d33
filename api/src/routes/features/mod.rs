//! Features: the meters usage events feed.

pub mod admin;
pub mod dto;
