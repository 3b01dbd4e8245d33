//! Domain services: the use cases the api's handlers call, one hop above the ports.

pub mod accounts;
pub mod accrual;
pub mod activity;
pub mod alerts;
pub mod api_keys;
pub mod audit;
pub mod billing;
pub mod claims;
pub mod credit_notes;
pub mod customers;
pub mod discounts;
pub mod emails;
pub mod entitlements;
pub mod invoices;
pub mod licenses;
pub mod overview;
pub mod payment_methods;
pub mod payments;
pub mod plans;
pub mod portal_sessions;
pub mod recovery;
pub mod subscriptions;
pub mod taxes;
pub mod usage;
pub mod wallets;
pub mod webhooks;
