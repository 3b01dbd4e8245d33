//! Portal routes, authenticated by `X-Session-Token`: one customer's own data, nothing else.

pub mod customer;
pub mod invoices;
pub mod payments;
pub mod session;
pub mod usage;
pub mod wallets;
