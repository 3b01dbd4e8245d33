//! Invoice PDFs, rendered in-process with `pdf-writer` (no external service), in the customer's
//! language (`crate::i18n`: the portal's catalogues, CLDR number and date formats). The
//! document's own labels and figures use the standard Helvetica fonts where they can (Latin
//! scripts); everything else — people's text (names, addresses, descriptions, memo) and labels
//! in other scripts (Arabic) — uses the embedded Unicode fonts of [`crate::pdf_text`], wrapped
//! to its column. An Arabic document keeps the page's left-to-right layout; each line reads
//! right to left within it.
//!
//! Amounts: every amount is printed at the currency's minor unit, grouped as the customer's
//! locale groups digits (`1,234.50 EUR`, `1.234,50 EUR`): line amounts, subtotal, each rate's tax (its name, percentage and whether
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

use crate::i18n::Speaker;
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

/// Whether Helvetica's WinAnsi encoding has every character of `s`.
fn win_ansi_covers(s: &str) -> bool {
    s.chars()
        .zip(win_ansi(s))
        .all(|(c, b)| b != b'?' || c == '?')
}

/// An amount at the currency's minor unit, as the customer's locale writes numbers.
fn amount_text(sp: &Speaker, currency: Currency, a: &BigDecimal) -> String {
    sp.number(&currency.display(a))
}

/// A unit price as set, with at least the minor unit's decimals: `0.50`, `0.005`, `1,200.00`.
fn unit_text(sp: &Speaker, currency: Currency, a: &BigDecimal) -> String {
    let exact = canonical(a);
    let decimals = exact.split_once('.').map_or(0, |(_, f)| f.len());
    if decimals >= usize::from(currency.minor_units()) {
        sp.number(&exact)
    } else {
        amount_text(sp, currency, a)
    }
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

    /// The document's own text in the customer's language: Helvetica when it can print it,
    /// else the Unicode fonts (no bold there).
    fn label(&mut self, g: &mut Glyphs, font: Name<'_>, size: f32, x: f32, y: f32, s: &str) {
        if win_ansi_covers(s) {
            self.text(font, size, x, y, s);
        } else {
            self.people(g, size, x, y, s);
        }
    }

    /// [`Self::label`] ending at `x`.
    fn label_right(&mut self, g: &mut Glyphs, font: Name<'_>, size: f32, x: f32, y: f32, s: &str) {
        if win_ansi_covers(s) {
            self.right(font, size, x, y, s);
        } else {
            self.people(g, size, x - pdf_text::width(s, size), y, s);
        }
    }

    fn rule(&mut self, y: f32) {
        self.content.set_line_width(0.5);
        self.content.move_to(LEFT, y);
        self.content.line_to(RIGHT, y);
        self.content.stroke();
    }

    /// A mark across the page, in Helvetica: `(the language's word, the English one)`, the
    /// English one where Helvetica cannot print the other.
    fn watermark(&mut self, (word, english): &(String, &str)) {
        let s: &str = if win_ansi_covers(word) { word } else { english };
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

fn table_header(p: &mut Page, g: &mut Glyphs, sp: &Speaker, y: f32) -> f32 {
    p.label(g, BOLD, 10.0, LEFT, y, &sp.t("common.description", &[]));
    p.label_right(g, BOLD, 10.0, COL_QTY, y, &sp.t("pdf.qty", &[]));
    p.label_right(g, BOLD, 10.0, COL_UNIT, y, &sp.t("bills.unit_price", &[]));
    p.label_right(g, BOLD, 10.0, RIGHT, y, &sp.t("common.amount", &[]));
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
    title: String,
    number: String,
    /// (the customer's language, English): see [`Page::watermark`].
    watermark: Option<(String, &'static str)>,
    /// Right of the bill-to block: label and value.
    facts: Vec<(String, String)>,
    rows: Vec<Row<'a>>,
    totals: Vec<Total>,
    /// Printed under the totals in the document's own words.
    notes: Vec<String>,
    memo: Option<&'a str>,
    info_title: String,
    /// Who it is addressed to.
    bill_to: &'a BillingDetails,
    /// The customer's language.
    speaker: Speaker,
}

/// The customer's language and time zone.
fn reader(customer: &Customer) -> (Speaker, chrono_tz::Tz) {
    (
        Speaker::for_locale(customer.locale.as_deref()),
        domain::services::billing::timezone(customer),
    )
}

/// Renders an invoice as a PDF document, with its credit notes listed under the totals, in the
/// customer's language.
pub fn render_invoice(
    invoice: &Invoice,
    credit_notes: &[CreditNote],
    merchant: &Account,
    customer: &Customer,
) -> Vec<u8> {
    let (sp, tz) = reader(customer);
    let currency = invoice.currency;
    let bill_to = addressee(invoice, customer);
    let title = sp.t(
        match invoice.status {
            InvoiceStatus::Draft => "pdf.invoice_draft",
            InvoiceStatus::Finalized => "pdf.invoice",
            InvoiceStatus::Voided => "pdf.invoice_void",
        },
        &[],
    );
    let rows = invoice
        .lines
        .iter()
        .map(|line| Row {
            description: &line.description,
            quantity: sp.quantity(&line.quantity),
            unit: unit_text(&sp, currency, &line.unit_amount),
            amount: amount_text(&sp, currency, &line.amount),
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
    let row = |key: &str, value: &BigDecimal, font| {
        total_row(&sp, &sp.t(key, &[]), currency, value, font)
    };
    if !bigdecimal::Zero::is_zero(&rounding) {
        totals.push(row("pdf.rounding", &rounding, REGULAR));
    }
    totals.push(row("bills.subtotal", &subtotal, REGULAR));
    // One row per discount (its coupon's name), taken off before tax.
    for d in &invoice.discounts {
        let label = sp.t("pdf.discount", &[("name", &d.name)]);
        totals.push(total_row(&sp, &label, currency, &-&d.amount, REGULAR));
    }
    totals.extend(rate_rows(&sp, &invoice.tax_amounts(), currency));
    totals.push(row("bills.total", &invoice.total, BOLD));
    if !bigdecimal::Zero::is_zero(&invoice.amount_credited) {
        totals.push(row("bills.credited", &invoice.amount_credited, REGULAR));
    }
    totals.extend([
        row("bills.paid", &invoice.amount_paid, REGULAR),
        row("pdf.amount_due", &invoice.amount_due(), BOLD),
    ]);
    let mut notes = Vec::new();
    if invoice.reverse_charge {
        notes.push(sp.t("pdf.reverse_charge", &[]));
    }
    for n in credit_notes {
        let key = match n.status {
            CreditNoteStatus::Voided => "pdf.credit_note_of_void",
            CreditNoteStatus::Issued => "pdf.credit_note_of",
        };
        notes.push(sp.t(
            key,
            &[
                ("number", &n.number),
                ("date", &sp.date(n.created_at, tz)),
                ("amount", &sp.amount(&n.total, currency)),
            ],
        ));
    }
    let status = format!(
        "{} / {}",
        sp.t(&format!("invoice_status.{}", invoice.status.as_str()), &[]),
        sp.t(
            &format!("payment_status.{}", invoice.payment_status.as_str()),
            &[]
        )
    );
    let day = |at: Option<DateTime<Utc>>| at.map_or_else(|| "-".to_owned(), |t| sp.date(t, tz));
    let mut facts = vec![
        (sp.t("bills.issued", &[]), day(invoice.issued_at)),
        (sp.t("bills.due", &[]), day(invoice.due_at)),
        (sp.t("pdf.currency", &[]), currency.code().to_owned()),
        (sp.t("common.status", &[]), status),
    ];
    if let Some(at) = invoice.revised_at {
        facts.push((sp.t("pdf.revised", &[]), day(Some(at))));
    }
    let doc = Document {
        title,
        number: invoice
            .number
            .clone()
            .unwrap_or_else(|| sp.t("pdf.not_numbered", &[])),
        watermark: (invoice.status == InvoiceStatus::Draft)
            .then(|| (sp.t("pdf.draft_mark", &[]), "DRAFT")),
        facts,
        rows,
        totals,
        notes,
        memo: invoice.memo.as_deref(),
        info_title: invoice
            .number
            .clone()
            .unwrap_or_else(|| format!("Draft {}", invoice.id)),
        bill_to: &bill_to,
        speaker: sp,
    };
    render(doc, merchant)
}

/// Renders a credit note as a PDF document: the lines credited, the tax reversed per rate, the
/// total, and where the credit went, in the customer's language.
pub fn render_credit_note(
    note: &CreditNote,
    invoice: &Invoice,
    merchant: &Account,
    customer: &Customer,
) -> Vec<u8> {
    let (sp, tz) = reader(customer);
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
                quantity: credited.map_or(String::new(), |l| sp.quantity(&l.quantity)),
                unit: credited.map_or(String::new(), |l| unit_text(&sp, currency, &l.unit_amount)),
                amount: amount_text(&sp, currency, &line.amount),
                feature: None,
            }
        })
        .collect();
    let row = |key: &str, value: &BigDecimal, font| {
        total_row(&sp, &sp.t(key, &[]), currency, value, font)
    };
    let mut totals = vec![row("bills.subtotal", &note.subtotal, REGULAR)];
    totals.extend(rate_rows(&sp, &note.tax_amounts, currency));
    totals.push(row("pdf.total_credited", &note.total, BOLD));
    let invoice_number = invoice.number.as_deref().unwrap_or("-");
    let issued = invoice
        .issued_at
        .map_or_else(|| "-".to_owned(), |t| sp.date(t, tz));
    let mut notes = vec![sp.t(
        "pdf.credits_invoice",
        &[
            ("number", invoice_number),
            ("date", &issued),
            ("total", &sp.amount(&invoice.total, currency)),
        ],
    )];
    notes.push(sp.t(
        match note.refund_to {
            RefundTo::Nothing => "pdf.refund_none",
            RefundTo::Wallet => "pdf.refund_wallet",
            RefundTo::Payment => "pdf.refund_payment",
        },
        &[],
    ));
    if invoice.reverse_charge {
        notes.push(sp.t("pdf.reverse_charge", &[]));
    }
    let void = note.status == CreditNoteStatus::Voided;
    let doc = Document {
        title: sp.t(
            if void {
                "pdf.credit_note_void"
            } else {
                "pdf.credit_note"
            },
            &[],
        ),
        number: note.number.clone(),
        watermark: void.then(|| (sp.t("pdf.void_mark", &[]), "VOID")),
        facts: vec![
            (sp.t("bills.issued", &[]), sp.date(note.created_at, tz)),
            (sp.t("pdf.invoice_ref", &[]), invoice_number.to_owned()),
            (sp.t("pdf.currency", &[]), currency.code().to_owned()),
            (
                sp.t("pdf.reason", &[]),
                sp.t(&format!("credit_reason.{}", note.reason.as_str()), &[]),
            ),
        ],
        rows,
        totals,
        notes,
        memo: note.memo.as_deref(),
        info_title: note.number.clone(),
        bill_to: &bill_to,
        speaker: sp,
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

/// A totals row with the document's own label and the amount with its currency's code.
fn total_row(
    sp: &Speaker,
    label: &str,
    currency: Currency,
    value: &BigDecimal,
    font: Name<'static>,
) -> Total {
    (label.to_owned(), sp.amount(value, currency), font, false)
}

/// One row per rate: its name, percentage and whether the prices include it.
fn rate_rows(sp: &Speaker, taxes: &[TaxAmount], currency: Currency) -> Vec<Total> {
    taxes
        .iter()
        .map(|t| {
            let rate = sp.t(
                "tax.rate",
                &[
                    ("name", &t.rate.name),
                    ("rate", &sp.number(&canonical(&t.rate.percentage))),
                ],
            );
            let label = if t.rate.inclusive {
                format!("{rate}, {}", sp.t("bills.tax_included", &[]))
            } else {
                rate
            };
            (label, sp.amount(&t.amount, currency), REGULAR, true)
        })
        .collect()
}

fn render(doc: Document<'_>, merchant: &Account) -> Vec<u8> {
    let mut g = Glyphs::default();
    let sp = &doc.speaker;
    let title = doc.title.as_str();
    let mut pages: Vec<Page> = Vec::new();
    let mut p = Page::new();
    if let Some(w) = &doc.watermark {
        p.watermark(w);
    }
    let mut y = HEIGHT - 60.0;
    p.label(&mut g, BOLD, 22.0, LEFT, y, title);
    p.label_right(&mut g, BOLD, 12.0, RIGHT, y, &doc.number);
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
    p.label(&mut g, BOLD, 10.0, LEFT, y, &sp.t("pdf.bill_to", &[]));
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
    bill_to.extend(
        billing
            .tax_id
            .as_ref()
            .map(|t| sp.t("pdf.tax_id", &[("id", t)])),
    );
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
        p.label(&mut g, BOLD, 10.0, 360.0, ry, label);
        p.label_right(&mut g, REGULAR, 10.0, RIGHT, ry, value);
        ry -= LINE_HEIGHT - 2.0;
    }
    y = y.min(ry) - 20.0;

    y = table_header(&mut p, &mut g, sp, y);
    for line in &doc.rows {
        let description = pdf_text::wrap(line.description, 10.0, DESCRIPTION_WIDTH);
        let needed =
            description.len() as f32 * 12.0 + if line.feature.is_some() { 12.0 } else { 0.0 };
        if y - needed < 140.0 {
            pages.push(std::mem::replace(&mut p, Page::new()));
            if let Some(w) = &doc.watermark {
                p.watermark(w);
            }
            y = HEIGHT - 60.0;
            let continued = sp.t(
                "pdf.continued",
                &[("title", title), ("number", &doc.number)],
            );
            p.label(&mut g, REGULAR, 10.0, LEFT, y, &continued);
            y = table_header(&mut p, &mut g, sp, y - 25.0);
        }
        p.label_right(&mut g, REGULAR, 10.0, COL_QTY, y, &line.quantity);
        p.label_right(&mut g, REGULAR, 10.0, COL_UNIT, y, &line.unit);
        p.label_right(&mut g, REGULAR, 10.0, RIGHT, y, &line.amount);
        for (i, text) in description.iter().enumerate() {
            if i > 0 {
                y -= 12.0;
            }
            p.people(&mut g, 10.0, LEFT, y, text);
        }
        if let Some(f) = line.feature {
            y -= 12.0;
            let feature = sp.t("pdf.feature", &[("key", f)]);
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
            p.label(&mut g, font, 11.0, TOTALS_LABEL, y, &label);
        }
        p.label_right(&mut g, font, 11.0, RIGHT, y, &value);
        y -= LINE_HEIGHT;
    }
    if !doc.notes.is_empty() {
        y -= 6.0;
        for line in doc
            .notes
            .iter()
            .flat_map(|n| pdf_text::wrap(n, 9.0, RIGHT - LEFT).into_iter().take(2))
        {
            p.label(&mut g, REGULAR, 9.0, LEFT, y, &line);
            y -= 11.0;
        }
    }
    if let Some(memo) = doc.memo {
        y -= 10.0;
        p.label(&mut g, BOLD, 10.0, LEFT, y, &sp.t("pdf.memo", &[]));
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
            if let Some(w) = &doc.watermark {
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
    fn amounts_print_at_the_minor_unit_grouped_as_the_locale_groups() {
        let eur = Currency::parse("EUR").unwrap();
        let jpy = Currency::parse("JPY").unwrap();
        let en = Speaker::for_locale(None);
        assert_eq!(amount_text(&en, eur, &d("536.3325")), "536.33");
        assert_eq!(amount_text(&en, eur, &d("1234567.5")), "1,234,567.50");
        assert_eq!(amount_text(&en, eur, &d("-1000")), "-1,000.00");
        assert_eq!(amount_text(&en, jpy, &d("1234.5")), "1,235");
        assert_eq!(amount_text(&en, eur, &d("999")), "999.00");
        let de = Speaker::for_locale(Some("de"));
        assert_eq!(amount_text(&de, eur, &d("1234567.5")), "1.234.567,50");
    }

    #[test]
    fn unit_prices_keep_their_decimals_and_at_least_the_minor_unit() {
        let eur = Currency::parse("EUR").unwrap();
        let en = Speaker::for_locale(None);
        assert_eq!(unit_text(&en, eur, &d("0.5")), "0.50");
        assert_eq!(unit_text(&en, eur, &d("0.005")), "0.005");
        assert_eq!(unit_text(&en, eur, &d("25.8325")), "25.8325");
        assert_eq!(unit_text(&en, eur, &d("1200")), "1,200.00");
    }

    #[test]
    fn helvetica_prints_latin_labels_and_leaves_the_rest_to_the_unicode_fonts() {
        assert!(win_ansi_covers("Fällig am 07.12.2026 – 1.234,50 €"));
        assert!(!win_ansi_covers("الفاتورة"));
        assert!(
            !win_ansi_covers("1\u{202f}234,50 EUR"),
            "French groups with a narrow no-break space"
        );
    }
}
