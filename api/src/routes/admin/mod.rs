//! Admin routes, authenticated by `x-api-key`, always scoped to the key's tenant.

pub mod api_keys;
pub mod audit;
pub mod customers;
pub mod invoices;
pub mod payments;
pub mod portal_sessions;
pub mod usage;
pub mod wallets;

use serde::Deserialize;
use utoipa::IntoParams;

/// Cursor pagination parameters shared by every list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    /// Items per page, 1 to 100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Declares a list response `{data, has_more, next_cursor}` for an item type.
macro_rules! list_type {
    ($name:ident, $item:ty) => {
        #[derive(serde::Serialize, utoipa::ToSchema)]
        pub struct $name {
            pub data: Vec<$item>,
            /// Whether another page follows.
            pub has_more: bool,
            /// Pass as `cursor` to get the next page; null on the last page.
            pub next_cursor: Option<String>,
        }

        impl From<domain::page::Page<$item>> for $name {
            fn from(p: domain::page::Page<$item>) -> Self {
                Self {
                    data: p.items,
                    has_more: p.has_more,
                    next_cursor: p.next_cursor,
                }
            }
        }
    };
}
pub(crate) use list_type;
