//! Cursor pagination shared by every list. Lists are ordered newest first by id (ids are
//! time-ordered), so a cursor is the last id of the previous page: keyset pagination, no OFFSET.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};

use crate::{DomainError, DomainResult};

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    /// Id of the last item already seen; the page starts strictly after it.
    pub after: Option<String>,
}

impl PageRequest {
    /// Validates `limit` (1..=100, default 20) and decodes the opaque `cursor`.
    pub fn new(limit: Option<i64>, cursor: Option<&str>) -> DomainResult<Self> {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(l) if (1..=MAX_LIMIT as i64).contains(&l) => l as u32,
            Some(_) => {
                return Err(DomainError::validation(
                    "limit",
                    "must be between 1 and 100",
                ));
            }
        };
        let after = match cursor {
            None | Some("") => None,
            Some(c) => Some(decode_cursor(c)?),
        };
        Ok(Self { limit, after })
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
            rows.last().map(|r| encode_cursor(&key_of(r)))
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

fn encode_cursor(id: &str) -> String {
    URL_SAFE_NO_PAD.encode(id)
}

fn decode_cursor(cursor: &str) -> DomainResult<String> {
    let invalid = || DomainError::validation("cursor", "is not a cursor returned by this API");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let id = String::from_utf8(bytes).map_err(|_| invalid())?;
    // A cursor only ever holds an id: prefix, '_', 26 base32 characters.
    if id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(invalid());
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
}
