//! E-mails: the outbox of messages to customers, as the merchant sees it (see `domain::email`).

pub mod admin;
pub mod dto;
