//! Cursor pagination shared by every list. Lists are ordered newest first by id (ids are
//! time-ordered), so a cursor is the last id of the previous page: keyset pagination, no OFFSET.
//!
//! Cursors handed to clients are bound to the list that issued them: an HMAC-SHA256 (server key)
//! over the list's scope (account, path, filters) and the position. A cursor from another list,
//! another account or with any byte changed is refused (`invalid_cursor`) instead of quietly
//! answering another page.

use crate::ErrorCode;
use std::sync::Arc;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::{DomainError, DomainResult};

/// Bytes of MAC a cursor carries (128 bits).
const TAG_LEN: usize = 16;

/// What a client's cursor is bound to: a server key and the scope of one list.
#[derive(Clone)]
pub struct CursorBinding {
    key: Arc<[u8; 32]>,
    scope: String,
}

impl CursorBinding {
    /// `scope` names the list and everything that selects its rows (account, customer, path,
    /// filters), but not the page size.
    pub fn new(key: Arc<[u8; 32]>, scope: String) -> Self {
        Self { key, scope }
    }

    fn mac(&self, position: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key[..]).expect("any key length");
        mac.update(self.scope.as_bytes());
        mac.update(&[0]);
        mac.update(position.as_bytes());
        mac
    }

    fn seal(&self, position: &str) -> String {
        let tag = self.mac(position).finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(position),
            URL_SAFE_NO_PAD.encode(&tag[..TAG_LEN])
        )
    }

    fn open(&self, cursor: &str) -> DomainResult<String> {
        let (position, tag) = cursor.split_once('.').ok_or_else(invalid_cursor)?;
        let position = decode_position(position)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid_cursor())?;
        self.mac(&position)
            .verify_truncated_left(&tag)
            .ok()
            .filter(|_| tag.len() == TAG_LEN)
            .ok_or_else(invalid_cursor)?;
        Ok(position)
    }
}

impl std::fmt::Debug for CursorBinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CursorBinding")
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl PartialEq for CursorBinding {
    fn eq(&self, other: &Self) -> bool {
        self.scope == other.scope && self.key == other.key
    }
}

impl Eq for CursorBinding {}

pub(crate) fn invalid_cursor() -> DomainError {
    DomainError::BadRequest {
        code: ErrorCode::InvalidCursor,
        message: INVALID_CURSOR.into(),
    }
}

pub const INVALID_CURSOR: &str =
    "This cursor was not issued for this list (or was altered); start again without one.";

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    /// Id of the last item already seen; the page starts strictly after it.
    pub after: Option<String>,
    /// Set for clients' requests: cursors in and out are bound to this list.
    pub binding: Option<CursorBinding>,
}

impl PageRequest {
    /// A client's page of one list: validates `limit` (1..=100, default 20) and opens `cursor`,
    /// which must have been issued for this list (see [`CursorBinding`]).
    pub fn bound(
        limit: Option<i64>,
        cursor: Option<&str>,
        binding: CursorBinding,
    ) -> DomainResult<Self> {
        let after = match cursor {
            None | Some("") => None,
            Some(c) => Some(binding.open(c)?),
        };
        Ok(Self {
            limit: Self::limit(limit)?,
            after,
            binding: Some(binding),
        })
    }

    /// An internal page (command-line tools, seeding): cursors are plain positions.
    pub fn new(limit: Option<i64>, cursor: Option<&str>) -> DomainResult<Self> {
        let after = match cursor {
            None | Some("") => None,
            Some(c) => Some(decode_position(c)?),
        };
        Ok(Self {
            limit: Self::limit(limit)?,
            after,
            binding: None,
        })
    }

    fn limit(limit: Option<i64>) -> DomainResult<u32> {
        match limit {
            None => Ok(DEFAULT_LIMIT),
            Some(l) if (1..=MAX_LIMIT as i64).contains(&l) => Ok(l as u32),
            Some(_) => Err(DomainError::validation(
                "limit",
                "must be between 1 and 100",
            )),
        }
    }

    /// Rows to fetch: one more than the page, to learn whether another page follows.
    pub fn fetch_limit(&self) -> i64 {
        self.limit as i64 + 1
    }
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_more: bool,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// No items (a filter that can match nothing).
    pub fn empty() -> Self {
        Self {
            items: Vec::new(),
            has_more: false,
            next_cursor: None,
        }
    }

    /// Builds a page from up to `limit + 1` rows ordered by the key `key_of` returns.
    pub fn from_rows(rows: Vec<T>, req: &PageRequest, key_of: impl Fn(&T) -> &str) -> Self {
        Self::from_rows_keyed(rows, req, |r| key_of(r).to_owned())
    }

    /// Like [`Page::from_rows`] for a computed sort key (e.g. a zero-padded sequence number).
    pub fn from_rows_keyed(
        mut rows: Vec<T>,
        req: &PageRequest,
        key_of: impl Fn(&T) -> String,
    ) -> Self {
        let has_more = rows.len() > req.limit as usize;
        rows.truncate(req.limit as usize);
        let next_cursor = if has_more {
            rows.last().map(|r| {
                let position = key_of(r);
                match &req.binding {
                    Some(b) => b.seal(&position),
                    None => URL_SAFE_NO_PAD.encode(position),
                }
            })
        } else {
            None
        };
        Self {
            items: rows,
            has_more,
            next_cursor,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            has_more: self.has_more,
            next_cursor: self.next_cursor,
        }
    }
}

fn decode_position(encoded: &str) -> DomainResult<String> {
    let bytes = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| invalid_cursor())?;
    let id = String::from_utf8(bytes).map_err(|_| invalid_cursor())?;
    // A position only ever holds an id or a sort key: letters, digits, '_'.
    if id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(invalid_cursor());
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_bounds_and_cursor_round_trip() {
        assert_eq!(PageRequest::new(None, None).unwrap().limit, 20);
        assert!(PageRequest::new(Some(0), None).is_err());
        assert!(PageRequest::new(Some(101), None).is_err());
        let req = PageRequest::new(Some(2), None).unwrap();
        let page = Page::from_rows(vec!["c", "b", "a"], &req, |s| s);
        assert!(page.has_more);
        assert_eq!(page.items, vec!["c", "b"]);
        let next = PageRequest::new(Some(2), page.next_cursor.as_deref()).unwrap();
        assert_eq!(next.after.as_deref(), Some("b"));
        assert!(PageRequest::new(None, Some("!!")).is_err());
    }

    #[test]
    fn bound_cursors_only_open_in_their_list() {
        let key = Arc::new([7u8; 32]);
        let list = |scope: &str| CursorBinding::new(key.clone(), scope.into());
        let req = PageRequest::bound(Some(1), None, list("t1 /v1/customers")).unwrap();
        let page = Page::from_rows(vec!["cus_b", "cus_a"], &req, |s| s);
        let cursor = page.next_cursor.unwrap();
        let next = PageRequest::bound(None, Some(&cursor), list("t1 /v1/customers")).unwrap();
        assert_eq!(next.after.as_deref(), Some("cus_b"));
        let refused = |c: &str, scope: &str| {
            matches!(
                PageRequest::bound(None, Some(c), list(scope)),
                Err(DomainError::BadRequest {
                    code: ErrorCode::InvalidCursor,
                    ..
                })
            )
        };
        assert!(refused(&cursor, "t2 /v1/customers"), "another account");
        assert!(refused(&cursor, "t1 /v1/invoices"), "another list");
        let mut altered = cursor.clone().into_bytes();
        altered[0] ^= 1;
        assert!(refused(
            std::str::from_utf8(&altered).unwrap(),
            "t1 /v1/customers"
        ));
        let (position, _) = cursor.split_once('.').unwrap();
        assert!(refused(position, "t1 /v1/customers"), "unsigned");
        assert!(
            refused(&format!("{position}."), "t1 /v1/customers"),
            "empty tag"
        );
        let other_key = CursorBinding::new(Arc::new([8u8; 32]), "t1 /v1/customers".into());
        assert!(PageRequest::bound(None, Some(&cursor), other_key).is_err());
    }
}
