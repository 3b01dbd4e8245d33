//! CSV exports (RFC 4180, written by the `csv` crate), streamed in constant memory: the rows are
//! read a page of [`PAGE`] at a time (keyset pages, each its own short read), written as CSV and
//! handed to the response through a channel of two chunks, so a slow client holds back the
//! reading instead of the server buffering the export. An export reads the rows that exist as it
//! goes: a row added after its page was read is not in it, and none appears twice.
//!
//! Spreadsheet formula injection (OWASP "CSV injection"): a text cell that begins with `=`, `+`,
//! `-`, `@`, a tab or a carriage return gets a leading `'`, so a spreadsheet shows it as text
//! instead of evaluating it. Numbers the server writes itself (amounts, quantities: plain decimal
//! strings such as `-5.00`) are left as they are, so they stay numbers.

use std::borrow::Cow;

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::HttpResponse;
use domain::DomainResult;

/// Rows read per page.
pub const PAGE: u32 = 500;

/// A text cell made safe for spreadsheets (see the module doc).
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && !is_plain_number(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// `-12.50`, `3`: what the server writes for amounts and quantities.
fn is_plain_number(cell: &str) -> bool {
    let digits = cell.strip_prefix('-').unwrap_or(cell);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
    !whole.is_empty()
        && !fraction.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
}

/// Rows as CSV bytes, every cell neutralised.
pub fn write_rows(rows: &[Vec<String>]) -> Bytes {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::with_capacity(rows.len() * 96));
    for row in rows {
        // Writing to memory cannot fail.
        let _ = w.write_record(row.iter().map(|c| neutralise(c).into_owned()));
    }
    Bytes::from(w.into_inner().unwrap_or_default())
}

/// One page of an export: its rows, and the cursor of the next page (none: the last).
pub type Sheet = (Vec<Vec<String>>, Option<String>);

/// The response streaming `header` and then the pages `next` reads, starting from no cursor
/// (`next` runs on the blocking pool, one page at a time). The first page is read before the
/// answer starts, so a filter the service refuses is a problem answer (422), not a broken
/// download; a failure after that ends the response early (the client sees a truncated
/// download; the log says why).
pub async fn stream<F>(
    filename: &str,
    header: &'static [&'static str],
    next: F,
) -> Result<HttpResponse, crate::error::ApiError>
where
    F: FnMut(Option<String>) -> DomainResult<Sheet> + Send + 'static,
{
    let (mut next, first) = read(next, None).await?;
    let first = first?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(2);
    actix_web::rt::spawn(async move {
        let head: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
        let mut page = Ok(first);
        let mut chunk = write_rows(&[head]);
        loop {
            let (rows, more) = match page {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(error = %e, "an export stopped");
                    let _ = tx
                        .send(Err(std::io::Error::other("the export stopped")))
                        .await;
                    return;
                }
            };
            chunk = [chunk, write_rows(&rows)].concat().into();
            if tx.send(Ok(std::mem::take(&mut chunk))).await.is_err() {
                return; // the client left
            }
            let Some(cursor) = more else {
                return;
            };
            match read(next, Some(cursor)).await {
                Ok((back, p)) => (next, page) = (back, p),
                Err(e) => {
                    tracing::error!(error = %e, "an export's page could not be read");
                    let _ = tx
                        .send(Err(std::io::Error::other("the export stopped")))
                        .await;
                    return;
                }
            }
        }
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(body))
}

/// One page read on the blocking pool; `next` comes back for the page after it.
async fn read<F>(
    mut next: F,
    cursor: Option<String>,
) -> Result<(F, DomainResult<Sheet>), actix_web::error::BlockingError>
where
    F: FnMut(Option<String>) -> DomainResult<Sheet> + Send + 'static,
{
    actix_web::web::block(move || {
        let page = next(cursor);
        (next, page)
    })
    .await
}

/// A domain list page as an export page: rows and the next cursor.
pub fn sheet<T>(page: domain::page::Page<T>, row: impl Fn(T) -> Vec<String>) -> Sheet {
    let next = if page.has_more {
        page.next_cursor
    } else {
        None
    };
    (page.items.into_iter().map(row).collect(), next)
}

/// The page after `cursor` (a position this module was handed by [`sheet`]), for an export:
/// no client binding, the cursor never leaves the server.
pub fn page(cursor: Option<String>) -> DomainResult<domain::page::PageRequest> {
    let mut page = domain::page::PageRequest::new(None, cursor.as_deref())?;
    page.limit = PAGE;
    Ok(page)
}

/// An optional cell.
pub fn opt(v: Option<impl ToString>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_become_text_and_numbers_stay_numbers() {
        for risky in [
            "=1+1",
            "+SUM(A1)",
            "-2+3",
            "@cmd",
            "\tx",
            "\rx",
            "=HYPERLINK(\"http://x\")",
        ] {
            assert_eq!(neutralise(risky), format!("'{risky}"));
        }
        for safe in ["-5.00", "12", "0.5", "Acme", "a=b", "", "-"] {
            let want = if safe == "-" { "'-" } else { safe };
            assert_eq!(neutralise(safe), want);
        }
    }

    #[test]
    fn rows_are_rfc_4180() {
        let out = write_rows(&[vec![
            "a,b".into(),
            "say \"hi\"".into(),
            "line\nbreak".into(),
            "=x".into(),
        ]]);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "\"a,b\",\"say \"\"hi\"\"\",\"line\nbreak\",'=x\r\n"
        );
    }
}
