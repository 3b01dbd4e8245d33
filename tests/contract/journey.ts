// A frontend's journey through the portal API with a client generated from the served spec
// (openapi-typescript types + openapi-fetch): exchange the login code, then read what a portal
// screen reads. Type-checked under `tsc --strict`; run against the real server.
//
// Env: API (base URL), LOGIN_URL (the session `url` printed by `portal-api serve --demo`).
import createClient from "openapi-fetch";
import type { paths } from "./generated/schema.js";

const api = process.env.API ?? "http://127.0.0.1:8080";
const loginUrl = process.env.LOGIN_URL;
if (!loginUrl) throw new Error("set LOGIN_URL");

function check(cond: unknown, what: string): asserts cond {
  if (!cond) throw new Error(`journey: ${what}`);
  console.log(`ok  ${what}`);
}

const code = new URL(loginUrl).searchParams.get("code");
check(code, "the session url carries a login code");

const anonymous = createClient<paths>({ baseUrl: api });
const exchanged = await anonymous.POST("/v1/portal/session/exchange", { body: { code } });
check(exchanged.data, `exchange the login code (${exchanged.response.status})`);
const token: string = exchanged.data.token;

const replay = await anonymous.POST("/v1/portal/session/exchange", { body: { code } });
check(replay.error?.code === "invalid_login_code", "a login code works once (problem+json code typed)");

const portal = createClient<paths>({ baseUrl: api, headers: { "X-Session-Token": token } });

const session = await portal.GET("/v1/portal/session");
check(session.data?.mode === "customer" && session.data.sections.invoices?.enabled !== false, "read the session");
// A guest session has no customer (null); this one is a customer's.
const customerId = session.data.customer_id;
check(typeof customerId === "string", "a customer's session names its customer");

const overview = await portal.GET("/v1/portal/overview");
check(overview.data?.wallets && overview.data.wallets.length > 0, "overview lists wallets");
check((overview.data.outstanding ?? []).some((o) => Number(o.overdue) > 0), "overview shows an overdue amount");

const wallets = await portal.GET("/v1/portal/wallets");
const wallet = wallets.data?.data[0];
check(wallet && wallet.customer_id === customerId, "own wallets");
check(typeof wallet.credits_expiring_next_30_days === "string", "expiring credits are a decimal string");

const transactions = await portal.GET("/v1/portal/wallets/{id}/transactions", {
  params: { path: { id: wallet.id }, query: { limit: 50 } },
});
check(transactions.data && transactions.data.data.some((t) => t.type === "debit"), "wallet ledger with a debit");

const all = await portal.GET("/v1/portal/invoices", { params: { query: { limit: 20 } } });
check(all.data && all.data.data.length >= 3, `list invoices (${all.data?.data.length})`);
const overdue = await portal.GET("/v1/portal/invoices", { params: { query: { overdue: true } } });
check(
  overdue.data && overdue.data.data.length > 0 && overdue.data.data.every((i) => i.overdue),
  "search invoices: overdue only",
);
const first = all.data.data[0];
check(first, "an invoice to open");
const byNumber = await portal.GET("/v1/portal/invoices", { params: { query: { q: first.number ?? "" } } });
check(byNumber.data?.data.some((i) => i.id === first.id), "search invoices by number");

const one = await portal.GET("/v1/portal/invoices/{id}", { params: { path: { id: first.id } } });
check(one.data?.lines.length, "open an invoice with its lines");

const pdf = await portal.GET("/v1/portal/invoices/{id}/pdf", {
  params: { path: { id: first.id } },
  parseAs: "arrayBuffer",
});
const bytes = new Uint8Array(pdf.data ?? new ArrayBuffer(0));
check(
  pdf.response.headers.get("content-type") === "application/pdf" &&
    new TextDecoder().decode(bytes.slice(0, 5)) === "%PDF-",
  "download the invoice PDF",
);
check(/filename/.test(pdf.response.headers.get("content-disposition") ?? ""), "the PDF is named");

const usage = await portal.GET("/v1/portal/usage", { params: { query: { window: "30d", granularity: "day" } } });
check(usage.data && usage.data.breakdown.some((b) => b.events > 0 && Number(b.total_cost) > 0), "usage with cost");
check(usage.data.series.length > 0, "usage series per feature");

const payments = await portal.GET("/v1/portal/payments");
check(payments.data && payments.data.data.length > 0, "payment history");

const profile = await portal.GET("/v1/portal/customer");
check(profile.data?.id === customerId, "read the profile");

const missing = await portal.GET("/v1/portal/invoices/{id}", { params: { path: { id: "inv_does_not_exist" } } });
check(missing.response.status === 404 && missing.error?.code === "invoice_not_found", "another id is a typed 404");

const out = await portal.DELETE("/v1/portal/session");
check(out.response.status === 204, "log out");
const after = await portal.GET("/v1/portal/session");
check(after.response.status === 401 && after.error?.code === "session_revoked", "the token stops working");
console.log("journey passed");
