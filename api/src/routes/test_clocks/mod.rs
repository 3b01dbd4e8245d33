//! Test clocks (admin only): frozen time for the customers created on one, advanced on demand
//! to rehearse renewals, trial ends and dunning.

pub mod admin;
pub mod dto;
