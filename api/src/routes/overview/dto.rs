//! The dashboard shape shared by the admin and portal overview routes.

use domain::services::overview::Overview;
use serde::Serialize;
use utoipa::ToSchema;

use crate::routes::invoices::dto::OutstandingView;
use crate::routes::subscriptions::dto::SubscriptionView;
use crate::routes::usage::dto::UsageView;
use crate::routes::wallets::dto::WalletView;

/// Wallets with their credits and value, what is owed per currency, and the last 7 days of
/// usage with cost by feature. Parts a portal session may not see are null.
#[derive(Debug, Serialize, ToSchema)]
pub struct OverviewView {
    pub wallets: Option<Vec<WalletView>>,
    pub outstanding: Option<Vec<OutstandingView>>,
    pub usage_7d: Option<UsageView>,
    /// Running subscriptions with their period and next billing date.
    pub subscriptions: Option<Vec<SubscriptionView>>,
}

impl From<Overview> for OverviewView {
    fn from(o: Overview) -> Self {
        Self {
            wallets: o.wallets.map(|ws| ws.into_iter().map(Into::into).collect()),
            outstanding: o
                .outstanding
                .map(|rows| rows.into_iter().map(OutstandingView::from).collect()),
            usage_7d: o.usage.map(Into::into),
            subscriptions: o
                .subscriptions
                .map(|ss| ss.into_iter().map(SubscriptionView::from).collect()),
        }
    }
}
