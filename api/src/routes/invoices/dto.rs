//! Invoice JSON shapes and the list query, shared by admin and portal routes.

use chrono::{DateTime, Utc};
use domain::id::{parse, TaxRateId};
use domain::invoice::InvoiceFilter;
use domain::invoice::{Invoice, InvoiceStatus, NewLine, PaymentStatus};
use domain::money::{canonical, Currency};
use domain::tax::{AppliedRate, LineTax, TaxAmount};
use domain::FieldError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;
use crate::routes::common::list_type;
use crate::routes::common::{decimal, present};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineBody {
    #[schema(example = "API calls, November")]
    pub description: String,
    /// Decimal string > 0.
    #[schema(example = "1200")]
    pub quantity: String,
    /// Decimal string ≥ 0, in the invoice currency.
    #[schema(example = "0.002")]
    pub unit_amount: String,
    /// The usage feature this line bills.
    pub feature: Option<String>,
    #[serde(default, deserialize_with = "crate::timestamps::opt")]
    pub period_start: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "crate::timestamps::opt")]
    pub period_end: Option<DateTime<Utc>>,
    /// The line's own tax rates (active rates of the account; `[]`: no tax on this line).
    /// Absent: the customer's, else the account's default rates.
    #[schema(example = json!(["txr_01jd3x6v9f5m2q8r7t4w0y1z3a"]))]
    pub tax_rate_ids: Option<Vec<String>>,
}

pub fn lines(body: Vec<LineBody>) -> Result<Vec<NewLine>, ApiError> {
    body.into_iter()
        .enumerate()
        .map(|(i, l)| {
            Ok(NewLine {
                quantity: decimal(&format!("lines[{i}].quantity"), &l.quantity)?,
                unit_amount: decimal(&format!("lines[{i}].unit_amount"), &l.unit_amount)?,
                description: l.description,
                feature: l.feature,
                period_start: l.period_start,
                period_end: l.period_end,
                tax_rate_ids: l
                    .tax_rate_ids
                    .map(|ids| rate_ids(&format!("lines[{i}].tax_rate_ids"), &ids))
                    .transpose()?,
            })
        })
        .collect()
}

/// Tax rate ids as a client gave them in `field`; a malformed one is a rate the account does
/// not have (422 naming `field[i]`), as an unknown one is.
pub fn rate_ids(field: &str, ids: &[String]) -> Result<Vec<TaxRateId>, ApiError> {
    let mut errs = Vec::new();
    let parsed = ids
        .iter()
        .enumerate()
        .filter_map(|(i, id)| {
            let found = TaxRateId::parse(id);
            if found.is_none() {
                errs.push(FieldError::new(format!("{field}[{i}]"), "no such tax rate"));
            }
            found
        })
        .collect();
    match errs.is_empty() {
        true => Ok(parsed),
        false => Err(ApiError::validation(errs)),
    }
}

/// A rate as a line applied it (a copy: later changes to the rate do not reach it).
#[derive(Debug, Serialize, ToSchema)]
pub struct AppliedRateView {
    pub tax_rate_id: String,
    #[schema(example = "VAT")]
    pub name: String,
    #[schema(example = "19")]
    pub percentage: String,
    pub inclusive: bool,
}

impl From<&AppliedRate> for AppliedRateView {
    fn from(r: &AppliedRate) -> Self {
        Self {
            tax_rate_id: r.tax_rate_id.to_string(),
            name: r.name.clone(),
            percentage: canonical(&r.percentage),
            inclusive: r.inclusive,
        }
    }
}

/// One line's tax of one rate.
#[derive(Debug, Serialize, ToSchema)]
pub struct LineTaxView {
    pub tax_rate_id: String,
    /// At the currency's minor unit.
    #[schema(example = "1.91")]
    pub amount: String,
}

/// The invoice's tax of one rate: the rate as applied, what it applied to (net of inclusive
/// tax) and the sum of the lines' taxes of that rate.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaxAmountView {
    pub tax_rate_id: String,
    #[schema(example = "VAT")]
    pub name: String,
    #[schema(example = "19")]
    pub percentage: String,
    pub inclusive: bool,
    #[schema(example = "10.05")]
    pub taxable_amount: String,
    #[schema(example = "1.91")]
    pub amount: String,
}

/// The invoice's tax figures (see the money rule in the API design notes).
pub fn tax_amounts(i: &Invoice) -> Vec<TaxAmountView> {
    tax_views(&i.tax_amounts(), i.currency)
}

/// Taxes per rate as an invoice or a credit note shows them.
pub fn tax_views(taxes: &[TaxAmount], currency: Currency) -> Vec<TaxAmountView> {
    taxes
        .iter()
        .map(|t| TaxAmountView {
            tax_rate_id: t.rate.tax_rate_id.to_string(),
            name: t.rate.name.clone(),
            percentage: canonical(&t.rate.percentage),
            inclusive: t.rate.inclusive,
            taxable_amount: currency.display(&t.taxable_amount),
            amount: currency.display(&t.amount),
        })
        .collect()
}

impl From<&LineTax> for LineTaxView {
    fn from(t: &LineTax) -> Self {
        Self {
            tax_rate_id: t.tax_rate_id.to_string(),
            amount: canonical(&t.amount),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LineView {
    /// What a credit note names the line by.
    #[schema(example = "il_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub id: String,
    pub description: String,
    pub quantity: String,
    /// May have more places than the currency's minor unit.
    pub unit_amount: String,
    /// What the line charges: quantity × unit_amount (or a tiered or prorated charge) at the
    /// currency's minor unit, half away from zero. With an inclusive rate, tax included.
    pub amount: String,
    /// What a discount took off the line, before tax ("0" when none); the line's tax is on
    /// `amount − discount_amount`.
    #[schema(example = "0")]
    pub discount_amount: String,
    /// The rates applied to the line (empty: no tax).
    pub tax_rates: Vec<AppliedRateView>,
    /// The line's tax of each of `tax_rates`, in the same order.
    pub tax_amounts: Vec<LineTaxView>,
    pub feature: Option<String>,
    #[serde(default, deserialize_with = "crate::timestamps::opt")]
    pub period_start: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "crate::timestamps::opt")]
    pub period_end: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceView {
    #[schema(example = "inv_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub id: String,
    /// `INV-YYYYMM-NNNNN`, from finalization on.
    #[schema(example = "INV-202611-00042")]
    pub number: Option<String>,
    pub customer_id: String,
    #[schema(value_type = crate::schema::InvoiceStatus)]
    pub status: &'static str,
    #[schema(value_type = crate::schema::PaymentStatus)]
    pub payment_status: &'static str,
    #[schema(example = "USD")]
    pub currency: String,
    pub memo: Option<String>,
    pub lines: Vec<LineView>,
    /// Sum of the line amounts (tax included in them by inclusive rates), before discounts.
    #[schema(example = "12.35")]
    pub subtotal: String,
    /// The discount on the invoice (at most one: its subscription's coupon) with what it
    /// took off the lines in all.
    pub discounts: Vec<InvoiceDiscountView>,
    /// What discounts took off, before tax.
    #[schema(example = "0.00")]
    pub total_discount: String,
    /// The subtotal less discounts and inclusive tax.
    #[schema(example = "12.35")]
    pub subtotal_excluding_tax: String,
    /// Tax per rate, in the order the rates first appear on the lines.
    pub tax_amounts: Vec<TaxAmountView>,
    /// All tax, inclusive and exclusive.
    #[schema(example = "2.35")]
    pub total_tax: String,
    /// Subtotal less discounts, plus exclusive tax.
    #[schema(example = "14.70")]
    pub total: String,
    #[schema(example = "0.00")]
    pub amount_paid: String,
    /// What the invoice's issued credit notes took off it.
    #[schema(example = "0.00")]
    pub amount_credited: String,
    /// Total less what is paid and what is credited.
    #[schema(example = "12.35")]
    pub amount_due: String,
    /// Finalized, not fully paid, and past its due date.
    pub overdue: bool,
    pub due_at: Option<DateTime<Utc>>,
    pub issued_at: Option<DateTime<Utc>>,
    pub voided_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The subscription billing made this invoice for, if any.
    pub subscription_id: Option<String>,
    /// The period boundary it bills (with `subscription_id`, unique): set on a subscription's
    /// first invoice and its renewals, null on off-cycle invoices (a proration, a final usage
    /// invoice).
    pub billing_period_start: Option<DateTime<Utc>>,
    /// Made for a reverse-charge customer: no tax, and the buyer accounts for it (the PDF
    /// says so, with both parties' VAT numbers).
    pub reverse_charge: bool,
    /// Who the invoice is addressed to, kept as it was issued (the customer's billing details,
    /// with its contact fields where they say nothing); null for drafts and for invoices issued
    /// before this was kept, whose PDFs print the customer's current details.
    pub billing: Option<crate::routes::customers::dto::BillingBody>,
    /// When `billing` was corrected (at most once; amounts never change).
    pub revised_at: Option<DateTime<Utc>>,
    /// The invoice's credit notes, oldest first (on the responses for one invoice; lists
    /// leave it out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credit_notes: Option<Vec<CreditNoteSummary>>,
}

/// A discount as an invoice shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceDiscountView {
    #[schema(example = "cpn_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub coupon_id: String,
    /// The coupon's name when it was applied.
    #[schema(example = "Launch 20%")]
    pub name: String,
    /// What it took off the invoice's lines, before tax.
    #[schema(example = "9.80")]
    pub amount: String,
}

/// The invoice's discounts as views.
pub fn discount_views(i: &Invoice) -> Vec<InvoiceDiscountView> {
    i.discounts
        .iter()
        .map(|d| InvoiceDiscountView {
            coupon_id: d.coupon_id.to_string(),
            name: d.name.clone(),
            amount: i.currency.display(&d.amount),
        })
        .collect()
}

/// A credit note as its invoice lists it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreditNoteSummary {
    #[schema(example = "cn_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub id: String,
    #[schema(example = "CN-202612-00001")]
    pub number: String,
    #[schema(value_type = crate::schema::CreditNoteStatus)]
    pub status: &'static str,
    #[schema(value_type = crate::schema::RefundTo)]
    pub refund_to: &'static str,
    #[schema(example = "11.90")]
    pub total: String,
    pub created_at: DateTime<Utc>,
}

impl InvoiceView {
    /// The view with the invoice's credit notes.
    pub fn with_credit_notes(mut self, notes: Vec<domain::credit_note::CreditNote>) -> Self {
        self.credit_notes = Some(
            notes
                .into_iter()
                .map(|n| CreditNoteSummary {
                    total: n.currency.display(&n.total),
                    id: n.id.into(),
                    number: n.number,
                    status: n.status.as_str(),
                    refund_to: n.refund_to.as_str(),
                    created_at: n.created_at,
                })
                .collect(),
        );
        self
    }
}

impl From<domain::invoice::LineItem> for LineView {
    fn from(l: domain::invoice::LineItem) -> Self {
        Self {
            tax_rates: l.tax_rates.iter().map(AppliedRateView::from).collect(),
            tax_amounts: l.taxes.iter().map(LineTaxView::from).collect(),
            id: l.id,
            description: l.description,
            quantity: canonical(&l.quantity),
            unit_amount: canonical(&l.unit_amount),
            amount: canonical(&l.amount),
            discount_amount: canonical(&l.discount_amount),
            feature: l.feature,
            period_start: l.period_start,
            period_end: l.period_end,
        }
    }
}

impl From<Invoice> for InvoiceView {
    fn from(i: Invoice) -> Self {
        let currency = i.currency;
        Self {
            subtotal_excluding_tax: currency.display(&i.subtotal_excluding_tax()),
            discounts: discount_views(&i),
            total_discount: currency.display(&i.total_discount()),
            tax_amounts: tax_amounts(&i),
            total_tax: currency.display(&i.total_tax()),
            overdue: i.is_overdue(domain::clock::now()),
            amount_due: currency.display(&i.amount_due()),
            amount_paid: currency.display(&i.amount_paid),
            amount_credited: currency.display(&i.amount_credited),
            credit_notes: None,
            total: currency.display(&i.total),
            subtotal: currency.display(&i.subtotal),
            status: i.status.as_str(),
            payment_status: i.payment_status.as_str(),
            lines: i.lines.into_iter().map(LineView::from).collect(),
            subscription_id: i.subscription_id.map(String::from),
            billing_period_start: i.billing_period_start,
            reverse_charge: i.reverse_charge,
            billing: i.bill_to.map(Into::into),
            revised_at: i.revised_at,
            id: i.id.into(),
            number: i.number,
            customer_id: i.customer_id.into(),
            currency: i.currency.to_string(),
            memo: i.memo,
            due_at: i.due_at,
            issued_at: i.issued_at,
            voided_at: i.voided_at,
            created_at: i.created_at,
            updated_at: i.updated_at,
        }
    }
}

/// Invoice search. Amount filters compare the total and need `currency`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListInvoices {
    /// Admin only.
    pub customer_id: Option<String>,
    /// The invoices billing made for this subscription (a subscription's linked invoices).
    pub subscription_id: Option<String>,
    /// `draft` (admin only), `finalized` or `voided`.
    #[param(value_type = Option<crate::schema::InvoiceStatus>)]
    pub status: Option<String>,
    /// `unpaid`, `partially_paid`, `paid` or `refunded`.
    #[param(value_type = Option<crate::schema::PaymentStatus>)]
    pub payment_status: Option<String>,
    /// Text in the number or memo.
    pub q: Option<String>,
    pub currency: Option<String>,
    pub issued_from: Option<DateTime<Utc>>,
    pub issued_to: Option<DateTime<Utc>>,
    pub due_from: Option<DateTime<Utc>>,
    pub due_to: Option<DateTime<Utc>>,
    /// Total at least this (decimal string, needs `currency`).
    pub amount_min: Option<String>,
    /// Total at most this (decimal string, needs `currency`).
    pub amount_max: Option<String>,
    /// Only finalized invoices past due and not fully paid.
    pub overdue: Option<bool>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// An invoice export: the list's filters, every matching invoice.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportInvoices {
    /// Admin only.
    pub customer_id: Option<String>,
    pub subscription_id: Option<String>,
    /// `draft` (admin only), `finalized` or `voided`.
    #[param(value_type = Option<crate::schema::InvoiceStatus>)]
    pub status: Option<String>,
    #[param(value_type = Option<crate::schema::PaymentStatus>)]
    pub payment_status: Option<String>,
    pub q: Option<String>,
    pub currency: Option<String>,
    pub issued_from: Option<DateTime<Utc>>,
    pub issued_to: Option<DateTime<Utc>>,
    pub due_from: Option<DateTime<Utc>>,
    pub due_to: Option<DateTime<Utc>>,
    pub amount_min: Option<String>,
    pub amount_max: Option<String>,
    pub overdue: Option<bool>,
}

impl ExportInvoices {
    /// The list's filter (422 naming a malformed one).
    pub fn filter(self) -> Result<InvoiceFilter, ApiError> {
        ListInvoices {
            customer_id: self.customer_id,
            subscription_id: self.subscription_id,
            status: self.status,
            payment_status: self.payment_status,
            q: self.q,
            currency: self.currency,
            issued_from: self.issued_from,
            issued_to: self.issued_to,
            due_from: self.due_from,
            due_to: self.due_to,
            amount_min: self.amount_min,
            amount_max: self.amount_max,
            overdue: self.overdue,
            limit: None,
            cursor: None,
        }
        .filter()
    }
}

/// The columns of an invoice export.
pub const CSV_HEADER: &[&str] = &[
    "id",
    "number",
    "customer_id",
    "status",
    "payment_status",
    "currency",
    "subtotal",
    "total_tax",
    "total",
    "amount_paid",
    "amount_credited",
    "amount_due",
    "issued_at",
    "due_at",
    "memo",
];

/// The CSV export of the invoices `filter` matches in `scope` (an account's, or a customer's
/// without drafts), streamed.
pub async fn csv_export(
    svc: domain::services::invoices::InvoiceService,
    scope: domain::scope::Scope,
    filter: InvoiceFilter,
) -> Result<actix_web::HttpResponse, ApiError> {
    crate::export::stream("invoices.csv", CSV_HEADER, move |cursor| {
        let page = svc.list(&scope, &filter, &crate::export::page(cursor)?)?;
        Ok(crate::export::sheet(page, csv_row))
    })
    .await
}

/// One invoice as a row of [`CSV_HEADER`].
pub fn csv_row(i: Invoice) -> Vec<String> {
    let c = i.currency;
    vec![
        i.id.to_string(),
        crate::export::opt(i.number.as_ref()),
        i.customer_id.to_string(),
        i.status.as_str().to_owned(),
        i.payment_status.as_str().to_owned(),
        c.code().to_owned(),
        c.display(&i.subtotal),
        c.display(&i.total_tax()),
        c.display(&i.total),
        c.display(&i.amount_paid),
        c.display(&i.amount_credited),
        c.display(&i.amount_due()),
        crate::export::opt(i.issued_at.map(|t| t.to_rfc3339())),
        crate::export::opt(i.due_at.map(|t| t.to_rfc3339())),
        crate::export::opt(i.memo.as_ref()),
    ]
}

impl ListInvoices {
    pub fn filter(&self) -> Result<InvoiceFilter, ApiError> {
        let bad = |f: &str, m: &str| ApiError::validation(vec![FieldError::new(f, m)]);
        let status = match self.status.as_deref() {
            None => None,
            Some(s) => Some(
                InvoiceStatus::parse(s)
                    .ok_or_else(|| bad("status", "must be draft, finalized or voided"))?,
            ),
        };
        let payment_status = match self.payment_status.as_deref() {
            None => None,
            Some(s) => Some(PaymentStatus::parse(s).ok_or_else(|| {
                bad(
                    "payment_status",
                    "must be unpaid, partially_paid, paid or refunded",
                )
            })?),
        };
        let currency = self.currency.as_deref().map(Currency::parse).transpose()?;
        let minor = |field: &str, v: &Option<String>| -> Result<Option<i64>, ApiError> {
            let Some(v) = v else { return Ok(None) };
            let c = currency.ok_or_else(|| bad(field, "needs `currency`"))?;
            let scaled = decimal(field, v)?
                * bigdecimal::BigDecimal::from(10i64.pow(c.minor_units() as u32));
            if !scaled.is_integer() {
                return Err(bad(field, "has more decimals than the currency"));
            }
            bigdecimal::ToPrimitive::to_i64(&scaled)
                .map(Some)
                .ok_or_else(|| bad(field, "is too large"))
        };
        Ok(InvoiceFilter {
            customer_id: self.customer_id.clone(),
            subscription_id: self.subscription_id.clone(),
            status,
            exclude_drafts: false,
            payment_status,
            q: self.q.clone(),
            currency: currency.map(|c| c.code().to_owned()),
            issued_from: self.issued_from,
            issued_to: self.issued_to,
            due_from: self.due_from,
            due_to: self.due_to,
            total_minor_min: minor("amount_min", &self.amount_min)?,
            total_minor_max: minor("amount_max", &self.amount_max)?,
            overdue_at: self.overdue.filter(|o| *o).map(|_| domain::clock::now()),
        })
    }
}

/// A PDF document.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct PdfDocument(
    #[expect(
        dead_code,
        reason = "a schema for the spec only; the handler streams the bytes"
    )]
    Vec<u8>,
);

/// Renders an invoice with the merchant's account details and the customer's billing details: the file
/// name and the PDF bytes. Blocking (it reads the database); see [`pdf_http`].
pub fn render_pdf(
    state: &crate::state::AppState,
    invoice: Invoice,
) -> domain::DomainResult<(String, Vec<u8>)> {
    let merchant = state.accounts.get(&invoice.tenant_id)?;
    let customer = state
        .customers
        .get(&invoice.tenant_id, &parse(&invoice.customer_id)?)?;
    let notes = state.credit_notes.of_invoice(
        &domain::scope::Scope::account(&invoice.tenant_id),
        &invoice.id,
    )?;
    let bytes = crate::pdf::render_invoice(&invoice, &notes, &merchant, &customer);
    let name = invoice
        .number
        .clone()
        .unwrap_or_else(|| format!("draft-{}", invoice.id));
    Ok((name, bytes))
}

pub fn pdf_http((name, bytes): (String, Vec<u8>)) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((
            "Content-Disposition",
            format!("inline; filename=\"{name}.pdf\""),
        ))
        .body(bytes)
}

list_type!(InvoiceList, InvoiceView);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"customer_id": "cus_01jd3x6v9f5m2q8r7t4w0y1z3a", "currency": "USD", "due_at": "2026-12-15T00:00:00Z",
    "memo": "November usage", "lines": [{"description": "API calls", "quantity": "1200", "unit_amount": "0.002"}]}))]
pub struct CreateInvoice {
    pub customer_id: String,
    /// ISO 4217.
    pub currency: String,
    #[serde(default, deserialize_with = "crate::timestamps::opt")]
    pub due_at: Option<DateTime<Utc>>,
    pub memo: Option<String>,
    #[serde(default)]
    pub lines: Vec<LineBody>,
}

/// Draft edits. Fields left out stay; `null` clears `due_at` or `memo`; `lines` replaces all lines.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateInvoice {
    #[serde(default, deserialize_with = "crate::timestamps::nullable")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub due_at: Option<Option<DateTime<Utc>>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub memo: Option<Option<String>>,
    pub lines: Option<Vec<LineBody>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OutstandingView {
    #[schema(example = "USD")]
    pub currency: String,
    /// Still to pay on finalized invoices.
    #[schema(example = "120.00")]
    pub outstanding: String,
    /// The part of it that is past due.
    #[schema(example = "20.00")]
    pub overdue: String,
    pub open_invoices: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceSummary {
    /// One entry per currency with something to pay.
    pub data: Vec<OutstandingView>,
}

impl From<domain::services::invoices::Outstanding> for OutstandingView {
    fn from(o: domain::services::invoices::Outstanding) -> Self {
        let c = o.currency;
        OutstandingView {
            outstanding: c.display(&o.outstanding),
            overdue: c.display(&o.overdue),
            currency: o.currency.to_string(),
            open_invoices: o.open_invoices,
        }
    }
}

/// A correction of an issued invoice's billing details.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"billing": {"legal_name": "Acme Corporation GmbH",
    "tax_ids": [{"type": "eu_vat", "value": "DE136695976"}],
    "address": {"line1": "Invalidenstr. 117", "postal_code": "10115", "city": "Berlin", "country": "DE"}}}))]
pub struct ReviseInvoice {
    /// Replaces the invoice's billing details as a whole; fields left out print the
    /// customer's contact fields (name, email, address).
    pub billing: crate::routes::customers::dto::BillingBody,
}
