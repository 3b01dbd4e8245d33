//! Invoice PDFs, rendered in-process with `pdf-writer` (no external service). The document's
//! own labels and figures use the standard Helvetica fonts; everything people wrote (names,
//! addresses, descriptions, memo) uses the embedded Unicode fonts of [`crate::pdf_text`], in any
//! script, wrapped to its column.
//!
//! Amounts: every amount is printed at the currency's minor unit, digits grouped in thousands
//! (`1,234.50 EUR`): line amounts, subtotal, each rate's tax (its name, percentage and whether
//! prices include it), total, paid and due. Line amounts are at the minor unit (the rule of
//! `domain::invoice`), so the column adds up as printed; invoices issued before that rule kept
//! exact line amounts, and for them a "Rounding" row shows the difference. Unit prices keep the
//! decimals they were set with (a price of 0.005 per call is not 0.01), at least the minor
//! unit's; quantities are printed without trailing zeros. Drafts carry a DRAFT watermark.

use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use domain::account::Account;
use domain::credit_note::{CreditNote, CreditNoteStatus, RefundTo};
use domain::customer::{BillingDetails, Customer};
use domain::invoice::{Invoice, InvoiceStatus};
use domain::money::{canonical, Currency};
use domain::tax::TaxAmount;
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use crate::pdf_text::{self, Glyphs};

const WIDTH: f32 = 595.0;
const HEIGHT: f32 = 842.0;
const LEFT: f32 = 50.0;
const RIGHT: f32 = WIDTH - 50.0;
const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");
const LINE_HEIGHT: f32 = 16.0;
/// Where the totals' labels start (their amounts end at `RIGHT`).
const TOTALS_LABEL: f32 = 300.0;

/// Helvetica advance widths (per 1000 em) of the characters amounts and dates use; others are
/// approximated, which only matters for right-aligned text.
fn char_width(c: char) -> f32 {
    match c {
        '0'..='9' => 556.0,
        '.' | ',' | ' ' | ':' => 278.0,
        '-' => 333.0,
        'A'..='Z' => 667.0,
        'i' | 'l' | 'j' | 't' | 'f' | 'r' => 278.0,
        'm' | 'w' => 833.0,
        _ => 556.0,
    }
}

fn text_width(s: &str, size: f32) -> f32 {
    s.chars().map(char_width).sum::<f32>() * size / 1000.0
}

/// WinAnsi bytes of a string (Latin-1 plus the Windows-1252 specials).
fn win_ansi(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            ' '..='~' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '€' => 0x80,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            _ => b'?',
        })
        .collect()
}

/// `digits` (an optional `-`, digits, an optional fraction) with the whole part grouped in
/// thousands: `1234567.5` → `1,234,567.5`.
fn grouped(digits: &str) -> String {
    let (sign, rest) = digits.strip_prefix('-').map_or(("", digits), |r| ("-", r));
    let (whole, fraction) = rest
        .split_once('.')
        .map_or((rest, None), |(w, f)| (w, Some(f)));
    let mut out = String::with_capacity(digits.len() + whole.len() / 3);
    out.push_str(sign);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = fraction {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// An amount at the currency's minor unit, grouped: `1,234.50`.
fn amount_text(currency: Currency, a: &BigDecimal) -> String {
    grouped(&currency.display(a))
}

/// A unit price as set, with at least the minor unit's decimals: `0.50`, `0.005`, `1,200.00`.
fn unit_text(currency: Currency, a: &BigDecimal) -> String {
    let exact = canonical(a);
    let decimals = exact.split_once('.').map_or(0, |(_, f)| f.len());
    if decimals >= usize::from(currency.minor_units()) {
        grouped(&exact)
    } else {
        amount_text(currency, a)
    }
}

fn date(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "-".into())
}

struct Page {
    content: Content,
}

impl Page {
    fn new() -> Self {
        Self {
            content: Content::new(),
        }
    }

    fn text(&mut self, font: Name<'_>, size: f32, x: f32, y: f32, s: &str) {
        self.content.begin_text();
        self.content.set_font(font, size);
        self.content.next_line(x, y);
        self.content.show(Str(&win_ansi(s)));
        self.content.end_text();
    }

    fn right(&mut self, font: Name<'_>, size: f32, x: f32, y: f32, s: &str) {
        self.text(font, size, x - text_width(s, size), y, s);
    }

    /// People's text, in any script.
    fn people(&mut self, g: &mut Glyphs, size: f32, x: f32, y: f32, s: &str) {
        g.show(&mut self.content, size, x, y, s);
    }

    fn rule(&mut self, y: f32) {
        self.content.set_line_width(0.5);
        self.content.move_to(LEFT, y);
        self.content.line_to(RIGHT, y);
        self.content.stroke();
    }

    fn watermark(&mut self, s: &str) {
        self.content.save_state();
        self.content.set_fill_gray(0.88);
        // Rotate 45° about the page centre.
        let (c, sn) = (
            std::f32::consts::FRAC_1_SQRT_2,
            std::f32::consts::FRAC_1_SQRT_2,
        );
        self.content.transform([c, sn, -sn, c, 150.0, 250.0]);
        self.content.begin_text();
        self.content.set_font(BOLD, 110.0);
        self.content.next_line(0.0, 0.0);
        self.content.show(Str(&win_ansi(s)));
        self.content.end_text();
        self.content.restore_state();
    }
}

/// Column x positions: description, quantity (right edge), unit price (right edge), amount (right edge).
const COL_QTY: f32 = 350.0;
const COL_UNIT: f32 = 450.0;
/// Room for a line's description: up to the quantity column, leaving space for the quantity.
const DESCRIPTION_WIDTH: f32 = COL_QTY - LEFT - 70.0;
/// Room for the bill-to block, left of the dates.
const BILL_TO_WIDTH: f32 = 300.0;

fn table_header(p: &mut Page, y: f32) -> f32 {
    p.text(BOLD, 10.0, LEFT, y, "Description");
    p.right(BOLD, 10.0, COL_QTY, y, "Qty");
    p.right(BOLD, 10.0, COL_UNIT, y, "Unit price");
    p.right(BOLD, 10.0, RIGHT, y, "Amount");
    p.rule(y - 5.0);
    y - LINE_HEIGHT - 4.0
}

/// A row of the lines table.
struct Row<'a> {
    description: &'a str,
    /// Empty for a row without a quantity (a credit of an invoice as a whole).
    quantity: String,
    unit: String,
    amount: String,
    feature: Option<&'a str>,
}

/// A row under the table: label, amount, font, and whether the label is the merchant's text
/// (a tax rate's name, printed in the Unicode fonts).
type Total = (String, String, Name<'static>, bool);

/// What an invoice and a credit note print differently; [`render`] lays out the rest (the
/// parties, the table, the totals, the memo and the merchant's footer) the same way.
struct Document<'a> {
    title: &'a str,
    number: &'a str,
    watermark: Option<&'static str>,
    /// Right of the bill-to block: label and value.
    facts: Vec<(&'static str, String)>,
    rows: Vec<Row<'a>>,
    totals: Vec<Total>,
    /// Printed under the totals in the document's own words.
    notes: Vec<String>,
    memo: Option<&'a str>,
    info_title: String,
    /// Who it is addressed to.
    bill_to: &'a BillingDetails,
}

/// Renders an invoice as a PDF document, with its credit notes listed under the totals.
pub fn render_invoice(
    invoice: &Invoice,
    credit_notes: &[CreditNote],
    merchant: &Account,
    customer: &Customer,
) -> Vec<u8> {
    let currency = invoice.currency;
    let bill_to = addressee(invoice, customer);
    let title = match invoice.status {
        InvoiceStatus::Draft => "DRAFT INVOICE",
        InvoiceStatus::Finalized => "INVOICE",
        InvoiceStatus::Voided => "INVOICE (VOID)",
    };
    let rows = invoice
        .lines
        .iter()
        .map(|line| Row {
            description: &line.description,
            quantity: grouped(&canonical(&line.quantity)),
            unit: unit_text(currency, &line.unit_amount),
            amount: amount_text(currency, &line.amount),
            feature: line.feature.as_deref(),
        })
        .collect();
    let printed_lines: BigDecimal = invoice
        .lines
        .iter()
        .map(|l| currency.round(&l.amount))
        .sum();
    let subtotal = currency.round(&invoice.subtotal);
    let rounding = &subtotal - &printed_lines;
    let mut totals: Vec<Total> = Vec::new();
    let row = |label: &str, value: &BigDecimal, font| total_row(label, currency, value, font);
    if !bigdecimal::Zero::is_zero(&rounding) {
        totals.push(row("Rounding", &rounding, REGULAR));
    }
    totals.push(row("Subtotal", &subtotal, REGULAR));
    // One row per discount (its coupon's name), taken off before tax.
    for d in &invoice.discounts {
        totals.push(row(&format!("Discount: {}", d.name), &-&d.amount, REGULAR));
    }
    totals.extend(rate_rows(&invoice.tax_amounts(), currency));
    totals.push(row("Total", &invoice.total, BOLD));
    if !bigdecimal::Zero::is_zero(&invoice.amount_credited) {
        totals.push(row("Credited", &invoice.amount_credited, REGULAR));
    }
    totals.extend([
        row("Paid", &invoice.amount_paid, REGULAR),
        row("Amount due", &invoice.amount_due(), BOLD),
    ]);
    let mut notes = Vec::new();
    if invoice.reverse_charge {
        notes.push(REVERSE_CHARGE.to_owned());
    }
    for n in credit_notes {
        notes.push(format!(
            "Credit note {} of {}: {}{}.",
            n.number,
            date(Some(n.created_at)),
            money(currency, &n.total),
            match n.status {
                CreditNoteStatus::Voided => " (void)",
                CreditNoteStatus::Issued => "",
            }
        ));
    }
    let doc = Document {
        title,
        number: invoice.number.as_deref().unwrap_or("Not yet numbered"),
        watermark: (invoice.status == InvoiceStatus::Draft).then_some("DRAFT"),
        facts: [
            ("Issued", date(invoice.issued_at)),
            ("Due", date(invoice.due_at)),
            ("Currency", currency.code().to_owned()),
            (
                "Status",
                format!(
                    "{} / {}",
                    invoice.status.as_str(),
                    invoice.payment_status.as_str().replace('_', " ")
                ),
            ),
        ]
        .into_iter()
        .chain(invoice.revised_at.map(|at| ("Revised", date(Some(at)))))
        .collect(),
        rows,
        totals,
        notes,
        memo: invoice.memo.as_deref(),
        info_title: invoice
            .number
            .clone()
            .unwrap_or_else(|| format!("Draft {}", invoice.id)),
        bill_to: &bill_to,
    };
    render(doc, merchant)
}

/// Renders a credit note as a PDF document: the lines credited, the tax reversed per rate, the
/// total, and where the credit went.
pub fn render_credit_note(
    note: &CreditNote,
    invoice: &Invoice,
    merchant: &Account,
    customer: &Customer,
) -> Vec<u8> {
    let currency = note.currency;
    let bill_to = addressee(invoice, customer);
    let rows = note
        .lines
        .iter()
        .map(|line| {
            let credited = line
                .invoice_line_id
                .as_ref()
                .and_then(|id| invoice.lines.iter().find(|l| &l.id == id));
            Row {
                description: &line.description,
                quantity: credited.map_or(String::new(), |l| grouped(&canonical(&l.quantity))),
                unit: credited.map_or(String::new(), |l| unit_text(currency, &l.unit_amount)),
                amount: amount_text(currency, &line.amount),
                feature: None,
            }
        })
        .collect();
    let row = |label: &str, value: &BigDecimal, font| total_row(label, currency, value, font);
    let mut totals = vec![row("Subtotal", &note.subtotal, REGULAR)];
    totals.extend(rate_rows(&note.tax_amounts, currency));
    totals.push(row("Total credited", &note.total, BOLD));
    let invoice_number = invoice.number.as_deref().unwrap_or("-");
    let mut notes = vec![format!(
        "Credits invoice {invoice_number} of {} ({} in total).",
        date(invoice.issued_at),
        money(currency, &invoice.total)
    )];
    notes.push(match note.refund_to {
        RefundTo::Nothing => "Deducted from the amount due on the invoice.".to_owned(),
        RefundTo::Wallet => "Credited to the customer's wallet.".to_owned(),
        RefundTo::Payment => "Refunded to the original payment.".to_owned(),
    });
    if invoice.reverse_charge {
        notes.push(REVERSE_CHARGE.to_owned());
    }
    let void = note.status == CreditNoteStatus::Voided;
    let doc = Document {
        title: if void {
            "CREDIT NOTE (VOID)"
        } else {
            "CREDIT NOTE"
        },
        number: &note.number,
        watermark: void.then_some("VOID"),
        facts: vec![
            ("Issued", date(Some(note.created_at))),
            ("Invoice", invoice_number.to_owned()),
            ("Currency", currency.code().to_owned()),
            ("Reason", note.reason.as_str().replace('_', " ")),
        ],
        rows,
        totals,
        notes,
        memo: note.memo.as_deref(),
        info_title: note.number.clone(),
        bill_to: &bill_to,
    };
    render(doc, merchant)
}

/// Who a document of `invoice` is addressed to: as the invoice kept it when it was issued (or
/// revised), else (drafts, invoices issued before it was kept) the customer's current details.
fn addressee(invoice: &Invoice, customer: &Customer) -> BillingDetails {
    invoice
        .bill_to
        .clone()
        .unwrap_or_else(|| domain::customer::bill_to(customer))
}

/// What EU invoicing rules (Directive 2006/112/EC, Article 226(11a)) ask a reverse-charge
/// invoice to say, with both parties' VAT numbers (printed with the parties) so the buyer can
/// account for the tax.
const REVERSE_CHARGE: &str = "Reverse charge: VAT to be accounted for by the recipient \
                              (Article 196, Council Directive 2006/112/EC).";

/// An amount as the totals print it: grouped, at the minor unit, with the currency's code.
fn money(currency: Currency, a: &BigDecimal) -> String {
    format!("{} {}", amount_text(currency, a), currency.code())
}

/// A totals row with the document's own label.
fn total_row(label: &str, currency: Currency, value: &BigDecimal, font: Name<'static>) -> Total {
    (label.to_owned(), money(currency, value), font, false)
}

/// One row per rate: its name, percentage and whether the prices include it.
fn rate_rows(taxes: &[TaxAmount], currency: Currency) -> Vec<Total> {
    taxes
        .iter()
        .map(|t| {
            let included = if t.rate.inclusive { ", included" } else { "" };
            let label = format!(
                "{} {}%{included}",
                t.rate.name,
                canonical(&t.rate.percentage)
            );
            (label, money(currency, &t.amount), REGULAR, true)
        })
        .collect()
}

fn render(doc: Document<'_>, merchant: &Account) -> Vec<u8> {
    let mut g = Glyphs::default();
    let title = doc.title;
    let mut pages: Vec<Page> = Vec::new();
    let mut p = Page::new();
    if let Some(w) = doc.watermark {
        p.watermark(w);
    }
    let mut y = HEIGHT - 60.0;
    p.text(BOLD, 22.0, LEFT, y, title);
    p.right(BOLD, 12.0, RIGHT, y, doc.number);
    y -= 30.0;
    for line in pdf_text::wrap(&merchant.name, 12.0, RIGHT - LEFT)
        .iter()
        .take(2)
    {
        p.people(&mut g, 12.0, LEFT, y, line);
        y -= 15.0;
    }
    // The merchant's address and support contact, as the account sets them.
    let s = &merchant.settings;
    let contact = s.legal_address.iter().flat_map(|a| a.lines()).take(4);
    let seller_ids: Vec<String> = s.tax_ids.iter().map(tax_id_line).collect();
    for line in contact
        .chain(s.support_email.as_deref())
        .chain(seller_ids.iter().map(String::as_str))
    {
        for part in pdf_text::wrap(line, 9.0, RIGHT - LEFT).iter().take(1) {
            p.people(&mut g, 9.0, LEFT, y, part);
            y -= 11.0;
        }
    }
    y -= 15.0;

    // Bill-to on the left, dates on the right.
    let top = y;
    p.text(BOLD, 10.0, LEFT, y, "Bill to");
    y -= LINE_HEIGHT;
    // As kept on the document (the billing details, the contact fields where they say nothing).
    let billing = doc.bill_to;
    let mut bill_to: Vec<String> = billing.legal_name.iter().cloned().collect();
    bill_to.extend(billing.email.clone());
    if let Some(a) = billing.address.as_ref() {
        bill_to.extend(a.line1.clone());
        bill_to.extend(a.line2.clone());
        let city = [a.postal_code.clone(), a.city.clone(), a.state.clone()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        if !city.is_empty() {
            bill_to.push(city);
        }
        bill_to.extend(a.country.clone());
    }
    bill_to.extend(billing.tax_id.as_ref().map(|t| format!("Tax ID: {t}")));
    bill_to.extend(billing.tax_ids.iter().map(tax_id_line));
    for line in bill_to
        .iter()
        .flat_map(|l| pdf_text::wrap(l, 10.0, BILL_TO_WIDTH).into_iter().take(3))
    {
        p.people(&mut g, 10.0, LEFT, y, &line);
        y -= LINE_HEIGHT - 2.0;
    }
    let mut ry = top;
    for (label, value) in &doc.facts {
        p.text(BOLD, 10.0, 360.0, ry, label);
        p.right(REGULAR, 10.0, RIGHT, ry, value);
        ry -= LINE_HEIGHT - 2.0;
    }
    y = y.min(ry) - 20.0;

    y = table_header(&mut p, y);
    for line in &doc.rows {
        let description = pdf_text::wrap(line.description, 10.0, DESCRIPTION_WIDTH);
        let needed =
            description.len() as f32 * 12.0 + if line.feature.is_some() { 12.0 } else { 0.0 };
        if y - needed < 140.0 {
            pages.push(std::mem::replace(&mut p, Page::new()));
            if let Some(w) = doc.watermark {
                p.watermark(w);
            }
            y = HEIGHT - 60.0;
            p.text(
                REGULAR,
                10.0,
                LEFT,
                y,
                &format!("{title} {} (continued)", doc.number),
            );
            y = table_header(&mut p, y - 25.0);
        }
        p.right(REGULAR, 10.0, COL_QTY, y, &line.quantity);
        p.right(REGULAR, 10.0, COL_UNIT, y, &line.unit);
        p.right(REGULAR, 10.0, RIGHT, y, &line.amount);
        for (i, text) in description.iter().enumerate() {
            if i > 0 {
                y -= 12.0;
            }
            p.people(&mut g, 10.0, LEFT, y, text);
        }
        if let Some(f) = line.feature {
            y -= 12.0;
            let feature = format!("feature: {f}");
            for text in pdf_text::wrap(&feature, 8.0, DESCRIPTION_WIDTH)
                .iter()
                .take(1)
            {
                p.people(&mut g, 8.0, LEFT + 10.0, y, text);
            }
        }
        y -= LINE_HEIGHT;
    }
    p.rule(y + 8.0);
    y -= 8.0;
    for (label, value, font, merchants) in doc.totals {
        // Labels start left of the amounts' column, wide enough for a rate's name.
        if merchants {
            let label = pdf_text::wrap(&label, 11.0, RIGHT - TOTALS_LABEL - 110.0);
            let first = label.first().map_or("", String::as_str);
            p.people(&mut g, 11.0, TOTALS_LABEL, y, first);
        } else {
            p.text(font, 11.0, TOTALS_LABEL, y, &label);
        }
        p.right(font, 11.0, RIGHT, y, &value);
        y -= LINE_HEIGHT;
    }
    if !doc.notes.is_empty() {
        y -= 6.0;
        for line in doc
            .notes
            .iter()
            .flat_map(|n| pdf_text::wrap(n, 9.0, RIGHT - LEFT).into_iter().take(2))
        {
            p.text(REGULAR, 9.0, LEFT, y, &line);
            y -= 11.0;
        }
    }
    if let Some(memo) = doc.memo {
        y -= 10.0;
        p.text(BOLD, 10.0, LEFT, y, "Memo");
        y -= LINE_HEIGHT - 2.0;
        for line in pdf_text::wrap(memo, 10.0, RIGHT - LEFT).iter().take(6) {
            p.people(&mut g, 10.0, LEFT, y, line);
            y -= LINE_HEIGHT - 2.0;
        }
    }
    if let Some(footer) = &merchant.settings.invoice_footer {
        // At the foot of the last page, below whatever else it holds.
        let lines: Vec<String> = footer
            .lines()
            .flat_map(|l| pdf_text::wrap(l, 8.0, RIGHT - LEFT))
            .take(6)
            .collect();
        let height = 10.0 * lines.len() as f32;
        if y - 10.0 < height + 30.0 {
            // No room left above the foot of this page: the footer gets a page of its own.
            pages.push(std::mem::replace(&mut p, Page::new()));
            if let Some(w) = doc.watermark {
                p.watermark(w);
            }
        }
        let mut fy = 30.0 + height;
        for line in &lines {
            p.people(&mut g, 8.0, LEFT, fy, line);
            fy -= 10.0;
        }
    }
    pages.push(p);

    // Objects: 1 catalog, 2 page tree, 3 regular font, 4 bold font, 5 info, then page + content pairs.
    let (catalog, tree, regular, bold, info) = (
        Ref::new(1),
        Ref::new(2),
        Ref::new(3),
        Ref::new(4),
        Ref::new(5),
    );
    let page_ids: Vec<Ref> = (0..pages.len())
        .map(|i| Ref::new(6 + 2 * i as i32))
        .collect();
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(pages.len() as i32);
    pdf.type1_font(regular)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.document_info(info)
        .title(TextStr(&doc.info_title))
        .producer(TextStr("portal-api"));
    let (unicode_fonts, _) = g.write(&mut pdf, 6 + 2 * pages.len() as i32);
    for (page, id) in pages.into_iter().zip(&page_ids) {
        let content_id = Ref::new(id.get() + 1);
        let mut w = pdf.page(*id);
        w.parent(tree)
            .media_box(Rect::new(0.0, 0.0, WIDTH, HEIGHT))
            .contents(content_id);
        let mut resources = w.resources();
        let mut fonts = resources.fonts();
        fonts.pair(REGULAR, regular).pair(BOLD, bold);
        for (name, font) in &unicode_fonts {
            fonts.pair(*name, *font);
        }
        fonts.finish();
        resources.finish();
        w.finish();
        pdf.stream(content_id, &page.content.finish());
    }
    pdf.finish()
}

/// A tax id as printed: its scheme's usual name and the number.
fn tax_id_line(t: &domain::tax_id::TaxId) -> String {
    let name = match t.kind.as_str() {
        "eu_vat" | "gb_vat" | "ch_vat" | "no_vat" => "VAT",
        "au_abn" => "ABN",
        "in_gst" => "GSTIN",
        "ca_bn" => "BN",
        "us_ein" => "EIN",
        other => other,
    };
    format!("{name}: {}", t.value)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn d(s: &str) -> BigDecimal {
        BigDecimal::from_str(s).unwrap()
    }

    #[test]
    fn amounts_print_at_the_minor_unit_grouped_in_thousands() {
        let eur = Currency::parse("EUR").unwrap();
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(amount_text(eur, &d("536.3325")), "536.33");
        assert_eq!(amount_text(eur, &d("1234567.5")), "1,234,567.50");
        assert_eq!(amount_text(eur, &d("-1000")), "-1,000.00");
        assert_eq!(amount_text(jpy, &d("1234.5")), "1,235");
        assert_eq!(grouped("999"), "999");
        assert_eq!(grouped("1000"), "1,000");
    }

    #[test]
    fn unit_prices_keep_their_decimals_and_at_least_the_minor_unit() {
        let eur = Currency::parse("EUR").unwrap();
        assert_eq!(unit_text(eur, &d("0.5")), "0.50");
        assert_eq!(unit_text(eur, &d("0.005")), "0.005");
        assert_eq!(unit_text(eur, &d("25.8325")), "25.8325");
        assert_eq!(unit_text(eur, &d("1200")), "1,200.00");
    }
}
