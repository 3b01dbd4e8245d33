//! API keys as clients create and see them (the secret only once).

use chrono::{DateTime, Utc};
use domain::api_key::ApiKey;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::routes::common::list_type;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    /// What the key is for, e.g. "billing backend".
    #[schema(example = "billing backend", min_length = 1, max_length = 100)]
    pub name: String,
}

/// An API key as listed: the secret is never shown again, only its prefix.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyView {
    #[schema(example = "key_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub id: String,
    pub name: String,
    /// First characters of the key, to recognise it.
    #[schema(example = "sk_Ab12Cd34")]
    pub prefix: String,
    /// `active` or `revoked`.
    #[schema(value_type = crate::schema::ApiKeyStatus)]
    pub status: &'static str,
    pub created_at: DateTime<Utc>,
    /// Updated at most once a minute.
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiKey> for ApiKeyView {
    fn from(k: ApiKey) -> Self {
        Self {
            status: if k.revoked_at.is_some() {
                "revoked"
            } else {
                "active"
            },
            id: k.id.into(),
            name: k.name,
            prefix: k.prefix,
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// A new key. `key` is shown this once: store it now.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub api_key: ApiKeyView,
    #[schema(example = "sk_Ab12Cd34_q8wJ2mXk9Pz4Lr7Tn1Vb6Yc3Hd5Fg0Se2")]
    pub key: String,
}

list_type!(ApiKeyList, ApiKeyView);
