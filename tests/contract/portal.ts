// The hosted portal at /portal/, for real: headless Chromium opens session URLs the admin API
// hands out (over the server's demo data plus a plan and a subscription made here), and checks
// what a customer sees and does against what the API says.
//
// Env: API (base URL), KEY (admin API key), CHROMIUM (default /usr/bin/chromium),
// SCREENSHOTS (a directory: also save a picture of every screen, desktop and phone width).
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium, type Browser, type Page } from "playwright-core";

const api = process.env.API ?? "http://127.0.0.1:8080";
const key = process.env.KEY;
if (!key) throw new Error("set KEY");
const shots = process.env.SCREENSHOTS;
const locale = "en-US";

function check(cond: unknown, what: string): asserts cond {
  if (!cond) throw new Error(`portal: ${what}`);
  console.log(`ok  ${what}`);
}

type Json = Record<string, any>;

async function admin(method: string, path: string, body?: unknown): Promise<Json> {
  const r = await fetch(`${api}${path}`, {
    method,
    headers: { "x-api-key": key!, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : {};
}

/** A new session for `customer`; its login URL and, to read the API alongside, its token. */
async function session(customer: string, extra: Json = {}): Promise<{ url: string; id: string; token: string }> {
  const s = await admin("POST", "/v1/portal_sessions", { customer_id: customer, invalidate_existing: false, ...extra });
  return { url: s.url, id: s.id, token: s.token };
}

async function portal(token: string, path: string): Promise<Json> {
  const r = await fetch(`${api}/v1/portal${path}`, { headers: { "X-Session-Token": token } });
  if (!r.ok) throw new Error(`GET ${path}: ${r.status}`);
  return r.json();
}

const money = (amount: string, currency: string) =>
  new Intl.NumberFormat(locale, { style: "currency", currency }).format(amount as any);
const number = (n: string) => new Intl.NumberFormat(locale, { maximumFractionDigits: 20 }).format(n as any);

const browser: Browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});

/** A page in a fresh browser context; fails the run on a CSP violation, a script error or a
 * request to any origin but the server's. */
async function open(url: string, width = 1280): Promise<Page> {
  const context = await browser.newContext({ locale, viewport: { width, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  const origin = new URL(api).origin;
  // The portal's own page only (an ended session leaves for return_url, which is not ours to
  // judge); a 401 is how the API says a session ended, a 422 how it names a field to correct
  // (which the page shows: checked where it happens).
  page.on("console", (m) => {
    const ours = new URL(page.url()).pathname.startsWith("/portal");
    if (ours && m.type() === "error" && !/status of (401|422)/.test(m.text())) throw new Error(`console error: ${m.text()}`);
  });
  page.on("pageerror", (e) => {
    throw new Error(`script error: ${e.message}`);
  });
  page.on("request", (r) => {
    const u = new URL(r.url());
    if (!["blob:", "data:"].includes(u.protocol) && u.origin !== origin) throw new Error(`request to another origin: ${r.url()}`);
  });
  await page.goto(url);
  return page;
}

// axe-core (Deque's accessibility engine), run inside the page on every screen checked:
// any WCAG 2 A/AA violation fails the run.
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

async function accessible(page: Page, name: string) {
  // Evaluated through the browser's debugging protocol, which the page's CSP does not govern.
  const violations: { id: string; help: string; nodes: number }[] = await page.evaluate(async (source) => {
    if (!(window as any).axe) (0, eval)(source);
    const result = await (window as any).axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa"] } });
    return result.violations.map((v: any) => ({ id: v.id, help: v.help, nodes: v.nodes.length }));
  }, axeSource);
  check(violations.length === 0, `${name}: no WCAG 2 A/AA violation found by axe-core${violations.length ? ` (${JSON.stringify(violations)})` : ""}`);
}

async function shoot(page: Page, name: string) {
  await accessible(page, name);
  if (!shots) return;
  mkdirSync(shots, { recursive: true });
  for (const [label, width] of [["desktop", 1280], ["phone", 390]] as const) {
    await page.setViewportSize({ width, height: 900 });
    await page.waitForTimeout(150);
    await page.screenshot({ path: `${shots}/${name}-${label}.png`, fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

try {
  // The demo customer, and a subscription of theirs to cancel.
  const customers = await admin("GET", "/v1/customers?limit=100");
  const demo = customers.data.find((c: Json) => c.external_id === "demo-acme");
  check(demo, "the demo customer exists");
  const code = `portal-${Date.now()}`;
  await admin("POST", "/v1/plans", { code, name: "Portal Pro", currency: "USD", interval: "month", amount: "29" });
  const bigger = await admin("POST", "/v1/plans", { code: `${code}-max`, name: "Portal Max", currency: "USD", interval: "month", amount: "99" });
  const sub = await admin("POST", "/v1/subscriptions", { customer_id: demo.id, plan: code, trial_days: 0, collection: "send_invoice" });
  // The customer's plan is archived (a price change: they keep the old price), and a plan in
  // another currency is on sale.
  const pro = (await admin("GET", `/v1/plans?limit=100`)).data.find((p: Json) => p.code === code);
  await admin("POST", `/v1/plans/${pro.id}/archive`);
  await admin("POST", "/v1/plans", { code: `${code}-eur`, name: "Portal Euro", currency: "EUR", interval: "month", amount: "25" });
  await admin("PATCH", "/v1/account", { name: "Acme Billing", primary_color: "#7a1fa2", accent_color: "#0b7a5c" });

  // 1. A customer session allowed to cancel at period end.
  const back = `${api}/healthz?returned=1`;
  const s = await session(demo.id, {
    return_url: back,
    permissions: { subscription_cancel: { enabled: true, mode: "at_period_end" } },
  });
  check(new URL(s.url).pathname.startsWith("/portal"), `the session url opens the hosted portal (${new URL(s.url).pathname})`);
  const page = await open(s.url);
  await page.locator("[data-test=wallet-credits]").first().waitFor();
  check(!page.url().includes("code="), "the login code is gone from the address bar");
  check(await page.evaluate(() => localStorage.length === 0 && document.cookie === ""
    && sessionStorage.length === 1 && sessionStorage.getItem("portal-session-token")?.startsWith("v4.local.")),
    "only this tab's sessionStorage keeps the token (no cookie, no localStorage)");
  await page.reload();
  await page.locator("[data-test=wallet-credits]").first().waitFor();
  check(!page.url().includes("code="), "a reload of the tab goes on with the session");
  const overview = await portal(s.token, "/overview");
  const wallet = overview.wallets[0];
  check((await page.locator("[data-test=wallet-credits]").first().innerText()) === `${number(wallet.balance)} credits`,
    `overview shows the wallet's credits (${number(wallet.balance)})`);
  check((await page.locator("[data-test=wallet-value]").first().innerText()) === money(wallet.balance_value, wallet.currency),
    `and their value (${money(wallet.balance_value, wallet.currency)})`);
  const owed = overview.outstanding[0];
  check((await page.locator("[data-test=outstanding]").first().innerText()) === money(owed.outstanding, owed.currency),
    `overview shows the outstanding balance (${money(owed.outstanding, owed.currency)})`);
  check((await page.locator("[data-test=next-billing]").count()) === overview.subscriptions.length,
    "overview lists each running subscription with its next bill");
  check((await page.locator(".chart canvas").count()) >= 1, "overview draws the 7-day usage trend");
  check((await page.locator("#merchant").innerText()) === "Acme Billing", "the merchant's name is shown");
  const primary = await page.evaluate(() => getComputedStyle(document.querySelector(".top")!).backgroundColor);
  check(primary === "rgb(122, 31, 162)", `the merchant's colour is applied (${primary})`);
  check(await page.locator("#preview").isHidden(), "no preview banner for the customer");
  await shoot(page, "overview");

  // Bills: search one invoice, open it, download its PDF.
  const invoices = await portal(s.token, "/invoices?limit=100");
  const target = invoices.data.find((i: Json) => i.number);
  await page.locator("nav a[data-screen=bills]").click();
  await page.locator("[data-test=bill]").first().waitFor();
  check((await page.locator("[data-test=bill]").count()) === invoices.data.length, `Bills lists the ${invoices.data.length} bills`);
  await shoot(page, "bills");
  await page.locator("[data-test=bill-search]").fill(target.number.slice(-5));
  await page.locator("form[role=search] button[type=submit]").click();
  await page.waitForFunction((n) => {
    const rows = document.querySelectorAll("[data-test=bill]");
    return rows.length === 1 && rows[0]!.textContent!.includes(n);
  }, target.number);
  check(true, `searching "${target.number.slice(-5)}" finds ${target.number} alone`);
  await page.locator("[data-test=bill] a").first().click();
  await page.locator("[data-test=amount-due]").waitFor();
  check((await page.locator("[data-test=amount-due]").innerText()) === money(target.amount_due, target.currency),
    "the bill shows its amount due");
  check((await page.locator("[data-test=pay-wallet]").count()) === 0, "no Pay button without the invoice_pay permission");
  const [download] = await Promise.all([page.waitForEvent("download"), page.locator("[data-test=pdf]").click()]);
  const pdf = readFileSync((await download.path())!);
  check(pdf.subarray(0, 5).toString() === "%PDF-" && download.suggestedFilename() === `${target.number}.pdf`,
    `the PDF downloads (${download.suggestedFilename()}, ${pdf.length} bytes)`);
  await shoot(page, "bill");

  // A credit note the merchant issues shows on the bill, lowers what is due, and downloads.
  const credited = invoices.data.find((i: Json) => i.number && Number(i.amount_due) >= 1);
  if (credited) {
    const note = await admin("POST", `/v1/invoices/${credited.id}/credit_notes`,
      { amount: "1", reason: "product_unsatisfactory", memo: "Sorry for the outage" });
    await admin("POST", `/v1/invoices/${credited.id}/revise`, { billing: { legal_name: "Revised Name GmbH" } });
    const now = await portal(s.token, `/invoices/${credited.id}`);
    // Through the list, so the bill renders anew even when it is the one open.
    await page.evaluate(() => { location.hash = "#/bills"; });
    await page.locator("[data-test=bill]").first().waitFor();
    await page.evaluate((id) => { location.hash = `#/bills/${id}`; }, credited.id);
    await page.locator("[data-test=credit-note]").first().waitFor();
    check((await page.locator("[data-test=credit-note]").innerText()).includes(note.number),
      `the bill lists its credit note ${note.number}`);
    check((await page.locator("main").innerText()).includes("Revised Name GmbH")
      && (await page.locator("[data-test=revised]").count()) === 1,
      "and whom it is billed to, revised, with the date");
    check((await page.locator("[data-test=amount-due]").innerText()) === money(now.amount_due, now.currency),
      `and what is due after it (${now.amount_due})`);
    const [cn] = await Promise.all([page.waitForEvent("download"), page.locator("[data-test=credit-note-pdf]").first().click()]);
    const bytes = readFileSync((await cn.path())!);
    check(bytes.subarray(0, 5).toString() === "%PDF-" && cn.suggestedFilename() === `${note.number}.pdf`,
      `the credit note's PDF downloads (${cn.suggestedFilename()})`);
    await shoot(page, "bill-credited");
  } else {
    throw new Error("portal: the demo customer has no bill with something due to credit");
  }

  // Usage: switch the window.
  await page.locator("nav a[data-screen=usage]").click();
  await page.locator("[data-test=usage-charts][data-window='7d']").waitFor();
  const day = page.waitForRequest((r) => r.url().includes("/v1/portal/usage?window=1d"));
  await page.locator("button[data-window='1d']").click();
  await day;
  await page.locator("[data-test=usage-charts][data-window='1d']").waitFor();
  check(await page.locator("button[data-window='1d']").getAttribute("aria-pressed") === "true", "the usage window switches to 24 hours");
  const dayUsage = await portal(s.token, "/usage?window=1d");
  check((await page.locator("[data-test=breakdown]").count()) === dayUsage.breakdown.length, "with its breakdown by feature");
  await shoot(page, "usage");

  // Subscriptions: cancel at period end.
  await page.locator("nav a[data-screen=subscriptions]").click();
  const card = page.locator(`[data-test=subscription][data-id='${sub.id}']`);
  await card.waitFor();
  check((await card.locator("[data-test=plan-name]").innerText()) === "Portal Pro",
    "a subscription on an archived plan shows the plan's name");
  const upcoming = await portal(s.token, `/subscriptions/${sub.id}/upcoming_invoice`);
  await card.locator("[data-test=upcoming-invoice]").waitFor();
  check((await card.locator("[data-test=upcoming-total]").innerText()) === money(upcoming.total, upcoming.currency)
    && (await card.locator("[data-test=upcoming-line]").count()) === upcoming.lines.length,
    `the subscription shows its next invoice, estimated (${money(upcoming.total, upcoming.currency)}, ${upcoming.lines.length} line(s))`);
  await shoot(page, "subscriptions");
  await card.locator("[data-test=cancel]").click();
  await card.locator("[data-test=cancel-reason]").selectOption("missing_features");
  await card.locator("[data-test=cancel-comment]").fill("Needs single sign-on");
  await shoot(page, "cancel-flow");
  await card.locator("[data-test=confirm-cancel]").click();
  await page.locator(`[data-test=subscription][data-id='${sub.id}'] [data-test=uncancel]`).waitFor();
  const after = await admin("GET", `/v1/subscriptions/${sub.id}`);
  check(after.cancel_at_period_end === true && after.status === "active", "cancel at period end reaches the subscription");
  check(after.cancellation_reason === "missing_features" && after.cancellation_comment === "Needs single sign-on",
    "with the reason and the comment the customer gave");
  await page.locator(`[data-test=subscription][data-id='${sub.id}'] [data-test=uncancel]`).click();
  await page.locator(`[data-test=subscription][data-id='${sub.id}'] [data-test=cancel]`).waitFor();
  check((await admin("GET", `/v1/subscriptions/${sub.id}`)).cancel_at_period_end === false, "and keeping it takes the cancellation back");

  // Discounts and seats: a session that may redeem codes and change seats; a retention offer.
  const twenty = await admin("POST", "/v1/coupons", { name: "Portal 20%", percent_off: "20", duration: "forever" });
  const welcome = `WELCOME-${Date.now()}`;
  await admin("POST", "/v1/promotion_codes", { coupon_id: twenty.id, code: welcome });
  const stay = await admin("POST", "/v1/coupons", { name: "Stay: half off", percent_off: "50", duration: "once" });
  await admin("PATCH", "/v1/account", { retention_coupon_id: stay.id });
  const sd = await session(demo.id, {
    permissions: { subscription_cancel: { enabled: true }, promotion_code_redeem: { enabled: true }, quantity_change: { enabled: true } },
  });
  const pageD = await open(sd.url);
  await pageD.locator("nav a[data-screen=subscriptions]").click();
  const cardD = pageD.locator(`[data-test=subscription][data-id='${sub.id}']`);
  await cardD.locator("[data-test=promotion-code]").fill("nope");
  await cardD.locator("[data-test=apply-code]").click();
  await cardD.locator(".alert").waitFor();
  check((await cardD.locator(".alert").innerText()).includes("not a valid promotion code"), "a wrong code is refused with the reason");
  await cardD.locator("[data-test=promotion-code]").fill(welcome.toLowerCase());
  await cardD.locator("[data-test=apply-code]").click();
  await pageD.locator(`[data-test=subscription][data-id='${sub.id}'] [data-test=discount]`).waitFor();
  const discounted = await admin("GET", `/v1/subscriptions/${sub.id}`);
  check(discounted.discount?.coupon_id === twenty.id, "a promotion code typed in any case discounts the subscription");
  const upcomingD = await portal(sd.token, `/subscriptions/${sub.id}/upcoming_invoice`);
  await cardD.locator("[data-test=upcoming-discount]").waitFor();
  check((await cardD.locator("[data-test=upcoming-total]").innerText()) === money(upcomingD.total, upcomingD.currency)
    && Number(upcomingD.total_discount) > 0, `and the next invoice shows it (${upcomingD.total_discount} off)`);
  const plansD = await portal(sd.token, "/plans");
  const maxD = plansD.data.find((p: Json) => p.code === `${code}-max`);
  check(maxD?.discount?.amount === "79.20" && (await pageD.locator("[data-test=plan-discounted]").count()) >= 1,
    "plans show their price with the customer's discount (99.00 → 79.20)");
  await shoot(pageD, "subscription-discount");
  // Seats: previewed, then changed.
  await cardD.locator("[data-test=seats-input]").fill("3");
  await cardD.locator("[data-test=preview-seats]").click();
  await cardD.locator("[data-test=seats-total]").waitFor();
  const seatsPreview = await portal(sd.token, `/subscriptions/${sub.id}`);
  check(seatsPreview.quantity === 1, "a preview changes nothing");
  await shoot(pageD, "seats-preview");
  await cardD.locator("[data-test=confirm-seats]").click();
  await pageD.locator(`[data-test=subscription][data-id='${sub.id}'] [data-test=seats]`, { hasText: "3 seats" }).waitFor();
  check((await admin("GET", `/v1/subscriptions/${sub.id}`)).quantity === 3, "the customer changes seats: 3");
  // The cancel flow shows the offer beside the confirmation: cancelling takes no extra step.
  const cardE = pageD.locator(`[data-test=subscription][data-id='${sub.id}']`);
  await cardE.locator("[data-test=cancel]").click();
  await cardE.locator("[data-test=retention-offer]").waitFor();
  check((await cardE.locator("[data-test=confirm-cancel]").count()) === 1,
    "the retention offer never hides the cancel button");
  await shoot(pageD, "cancel-offer");
  await cardE.locator("[data-test=accept-offer]").click();
  await pageD.locator(`[data-test=subscription][data-id='${sub.id}'] [data-test=discount]`, { hasText: "Stay" }).waitFor();
  const kept = await admin("GET", `/v1/subscriptions/${sub.id}`);
  check(kept.discount?.coupon_id === stay.id && kept.cancel_at_period_end === false,
    "accepting the offer applies its coupon and keeps the subscription");
  await pageD.close();

  // Entitlements: a plan granting the demo's api_calls (hard) and storage_gb (soft), in use.
  // It also prices api_calls (the demo sums each event's `calls`) in arrears: the calls sent
  // here accrue against the USD wallet.
  await admin("POST", "/v1/plans", { code: `${code}-metered`, name: "Portal Metered", currency: "USD", interval: "month", amount: "0",
    charges: [{ feature: "api_calls", unit_price: "0.25" }],
    entitlements: [{ feature: "api_calls", limit: "1000000" }, { feature: "storage_gb", limit: "1", soft: true }] });
  await admin("POST", "/v1/subscriptions", { customer_id: demo.id, plan: `${code}-metered`, collection: "send_invoice", trial_days: 0 });
  const sent = await admin("POST", "/v1/events/batch", { events: [0, 1, 2, 3].map((i) => (
    { event_id: `${code}-ongoing-${i}`, customer_id: demo.id, feature: "api_calls", properties: { calls: 1 } })) });
  check(sent.accepted === 4, `four calls are accepted (${JSON.stringify(sent.results)})`);
  const granted = await portal(s.token, "/entitlements");
  await page.locator("nav a[data-screen=entitlements]").click();
  await page.locator("[data-test=entitlement]").first().waitFor();
  check((await page.locator("[data-test=entitlement]").count()) === granted.data.length && granted.data.length >= 2,
    `the Entitlements screen lists each granted feature (${granted.data.length})`);
  const calls = granted.data.find((e: Json) => e.feature === "api_calls");
  check((await page.locator("[data-test=entitlement][data-feature=api_calls] [data-test=entitlement-used]").innerText())
    === `${number(calls.used)} of ${number(calls.limit)}`
    && (await page.locator("[data-test=entitlement][data-feature=api_calls] meter").getAttribute("value")) === calls.used,
    `with this period's use against the limit as a bar (${calls.used} of ${calls.limit})`);
  await shoot(page, "entitlements");

  const screens: [string, string][] = [["credits", "Credits"], ["payment-methods", "Payment methods"], ["activity", "Activity"], ["profile", "Profile"]];
  for (const [screen, title] of screens) {
    await page.locator(`nav a[data-screen=${screen}]`).click();
    await page.locator("main h1", { hasText: title }).waitFor();
    await page.waitForLoadState("networkidle");
    if (screen === "credits") {
      const shown = (await portal(s.token, "/wallets")).data[0];
      check(shown.ongoing_balance !== shown.balance,
        `usage not yet invoiced lowers the wallet's ongoing balance (${shown.balance} → ${shown.ongoing_balance})`);
      check((await page.locator("[data-test=wallet-ongoing]").innerText()).includes(`${number(shown.ongoing_balance)} credits`),
        "the Credits screen shows the ongoing balance beside the balance");
    }
    await shoot(page, screen);
  }
  await page.locator("input[name=phone]").waitFor();
  check((await page.locator("[data-test=save-profile]").count()) === 0 && (await page.locator("input[name=phone]").isDisabled()),
    "the profile is read-only without profile_update");

  // The session ends (revoked by the merchant): the next step goes back to return_url.
  await admin("DELETE", `/v1/portal_sessions/${s.id}`);
  await page.locator("nav a[data-screen=overview]").click();
  await page.waitForURL((u) => u.toString() === back);
  check(true, "an ended session sends the customer to return_url");

  // 2. Without the cancel permission there is no cancel control; with invoice_pay, a bill is
  //    paid from credits (on a phone-width screen).
  const plain = await session(demo.id, {
    sections: { usage: { enabled: false } },
    permissions: {
      invoice_pay: { enabled: true }, profile_update: { allowed_fields: ["phone"] }, plan_change: { enabled: true },
      payment_method_manage: { enabled: true },
    },
  });
  const card1 = await admin("POST", `/v1/customers/${demo.id}/payment_methods`, {
    type: "card", provider: "stripe", provider_reference: "pm_portal_1", brand: "visa", last4: "4242", exp_month: 12, exp_year: 2030,
  });
  const card2 = await admin("POST", `/v1/customers/${demo.id}/payment_methods`, {
    type: "card", provider: "stripe", provider_reference: "pm_portal_2", brand: "mastercard", last4: "5454", exp_month: 1, exp_year: 2031,
  });
  const page2 = await open(plain.url, 390);
  await page2.locator("nav a[data-screen=subscriptions]").click();
  await page2.locator("[data-test=subscription]").first().waitFor();
  check((await page2.locator("[data-test=cancel], [data-test=uncancel]").count()) === 0, "no cancel control when not permitted");
  const overflow = await page2.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);
  check(overflow, "the page fits a phone-width screen");
  check((await page2.locator("nav a[data-screen=usage]").count()) === 0 && (await page2.locator("nav a[data-screen=bills]").count()) === 1,
    "a section the session hides has no screen");
  const row = page2.locator(`[data-test=subscription][data-id='${sub.id}']`);
  const offered = await row.locator("[data-test=new-plan] option").evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
  check(offered.includes(`${code}-max`) && !offered.includes(`${code}-eur`),
    `the plan change offers only plans in the subscription's currency (${offered.join(", ")})`);
  await row.locator("select").selectOption(`${code}-max`);
  await row.locator("[data-test=preview-change]").click();
  await row.locator("[data-test=confirm-change]").click();
  await page2.waitForFunction(() => !document.querySelector("[data-test=confirm-change]"));
  const changed = await admin("GET", `/v1/subscriptions/${sub.id}`);
  check(changed.plan_id === bigger.id || changed.pending_plan_id === bigger.id, "a plan change is previewed, then made");
  await page2.locator("nav a[data-screen=payment-methods]").click();
  const second = page2.locator(`[data-test=payment-method][data-id='${card2.id}']`);
  await second.locator("[data-test=make-default]").click();
  await page2.locator(`[data-test=payment-method][data-id='${card2.id}'] .badge.good`).waitFor();
  const methods = (await admin("GET", `/v1/customers/${demo.id}/payment_methods`)).data;
  check(methods.find((m: Json) => m.id === card2.id)?.is_default === true, "a saved method is made the default");
  await page2.locator(`[data-test=payment-method][data-id='${card1.id}'] [data-test=remove]`).click();
  await page2.locator(`[data-test=payment-method][data-id='${card1.id}']`).waitFor({ state: "detached" });
  check((await admin("GET", `/v1/customers/${demo.id}/payment_methods/${card1.id}`)).status === "detached", "and another removed");
  const overdue = (await portal(plain.token, "/invoices?overdue=true")).data[0];
  await page2.locator("nav a[data-screen=bills]").click();
  await page2.locator(`[data-test=bill] a:text-is("${overdue.number}")`).click();
  await page2.locator("[data-test=pay-wallet]").click();
  await page2.locator(".notice").waitFor();
  check((await page2.locator("[data-test=amount-due]").innerText()) === money("0", overdue.currency), `paying ${overdue.number} from credits leaves nothing due`);
  const paid = await portal(plain.token, `/invoices/${overdue.id}`);
  check(paid.payment_status === "paid", "and the API says it is paid");
  await page2.locator("nav a[data-screen=profile]").click();
  await page2.locator("[data-test=save-profile]").waitFor();
  check(await page2.locator("input[name=email]").isDisabled(), "a profile field the session may not change is not editable");
  // A refused field is named next to its input, with the API's own message.
  await page2.locator("input[name=phone]").fill("call me maybe");
  await page2.locator("[data-test=save-profile]").click();
  const fieldError = page2.locator("[data-test=field-error][data-field=phone]");
  await fieldError.waitFor();
  const refused = await fetch(`${api}/v1/portal/customer`, {
    method: "PATCH", headers: { "X-Session-Token": plain.token, "content-type": "application/json" },
    body: JSON.stringify({ phone: "call me maybe" }),
  }).then((r) => r.json());
  const said = refused.errors.find((e: Json) => e.field === "phone").message;
  check((await fieldError.innerText()) === said && (await page2.locator("input[name=phone]").getAttribute("aria-invalid")) === "true",
    `a refused field shows the API's message next to its input ("${said}")`);
  await accessible(page2, "profile with a field error");
  await page2.locator("input[name=phone]").fill("+49 30 7654321");
  await page2.locator("[data-test=save-profile]").click();
  await page2.locator(".notice").waitFor();
  check((await page2.locator("[data-test=field-error]").count()) === 0, "and the mark goes once it is saved");
  const me = await admin("GET", `/v1/customers/${demo.id}`);
  check(me.phone === "+49 30 7654321", "a permitted profile field is saved");

  // 3. An admin preview: the banner, and no write controls even with permissions.
  const pv = await session(demo.id, {
    mode: "admin_preview",
    permissions: { subscription_cancel: { enabled: true, mode: "at_period_end" }, invoice_pay: { enabled: true } },
  });
  const page3 = await open(pv.url);
  await page3.locator("#preview").waitFor();
  check((await page3.locator("#preview").innerText()).includes(`Viewing as ${demo.name}`), "an admin preview says whose portal it shows");
  await page3.locator("nav a[data-screen=subscriptions]").click();
  await page3.locator("[data-test=subscription]").first().waitFor();
  check((await page3.locator("main button:not([data-window])").count()) === 0, "and offers no write control");
  await shoot(page3, "admin-preview");

  // 4. The session's time runs out (the browser's clock moved on): back to return_url.
  const short = await session(demo.id, { return_url: back, expires_in_seconds: 60 });
  const context5 = await browser.newContext({ locale });
  await context5.clock.install();
  const page5 = await context5.newPage();
  await page5.goto(short.url);
  await page5.locator("[data-test=wallet-credits]").first().waitFor();
  await page5.clock.fastForward("01:01");
  await page5.waitForURL((u) => u.toString() === back);
  check(true, "an expired session sends the customer to return_url");

  // 5. A guest session (a pricing page): the plans, nothing of any customer.
  const guest = await admin("POST", "/v1/portal_sessions", { guest: true, return_url: back });
  const page6 = await open(guest.url, 390);
  await page6.locator("[data-test=plan]").first().waitFor();
  check((await page6.locator("nav a").count()) === 1 && (await page6.locator("[data-test=plan]", { hasText: "Portal Max" }).count()) === 1,
    "a guest session shows the plans alone");
  await shoot(page6, "guest-plans");

  // 5b. A light brand (an amber accent, a pale primary): text on and beside the merchant's
  //     colours is chosen for contrast, and every screen still passes axe-core.
  await admin("PATCH", "/v1/account", { primary_color: "#ffe082", accent_color: "#f5b400" });
  const light = await session(demo.id, { permissions: { profile_update: { allowed_fields: ["phone"] } } });
  const page7 = await open(light.url);
  await page7.locator("[data-test=wallet-credits]").first().waitFor();
  await accessible(page7, "overview (light brand)");
  for (const [screen, title] of [["bills", "Bills"], ["subscriptions", "Subscriptions"], ["usage", "Usage"], ["profile", "Profile"]] as const) {
    await page7.locator(`nav a[data-screen=${screen}]`).click();
    await page7.locator("main h1", { hasText: title }).waitFor();
    await page7.waitForLoadState("networkidle");
    await accessible(page7, `${screen} (light brand)`);
  }
  await page7.locator("[data-test=save-profile]").click();
  await page7.locator(".notice").waitFor();
  // Computed colours from the page; WCAG 2's contrast ratio worked out here.
  const pairs: [string, string][] = await page7.evaluate(() =>
    [".notice", ".top", "nav a[aria-current=page]"].map((sel) => {
      const st = getComputedStyle(document.querySelector(sel)!);
      return [st.color, st.backgroundColor] as [string, string];
    }));
  const lum = (c: string) => {
    const [r, g, b] = c.match(/\d+/g)!.slice(0, 3).map((x) => Number(x) / 255)
      .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
  };
  const ratio = Math.min(...pairs.map(([fg, bg]) => {
    const [hi, lo] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    return (hi! + 0.05) / (lo! + 0.05);
  }));
  check(ratio >= 4.5, `the confirmation, the header and the current tab read at ${ratio.toFixed(2)}:1 or better on the light brand`);
  await accessible(page7, "profile saved (light brand)");
  await admin("PATCH", "/v1/account", { primary_color: "#7a1fa2", accent_color: "#0b7a5c" });

  // 6. A used link does not open the portal again.
  const page4 = await open(s.url);
  await page4.locator("[data-test=ended]").waitFor();
  check(true, "a used login link shows that it has expired");

  // 7. Self sign-in: the sign-in page asks for an e-mail and answers the same for any address;
  // the demo customer's address gets a sign-in link (recorded unsent: no SMTP server here).
  const account = await admin("PATCH", "/v1/account", { self_sign_in: true });
  const login = await open(`${api}/portal/login?account=${account.id}`);
  await login.locator("[data-test=login-email]").fill(demo.email);
  await login.getByRole("button", { name: "Email me a sign-in link" }).click();
  await login.locator("[data-test=login-status]", { hasText: "sign-in link is on its way" }).waitFor();
  await accessible(login, "self sign-in");
  await login.locator("[data-test=login-email]").fill("nobody@example.com");
  await login.getByRole("button", { name: "Email me a sign-in link" }).click();
  await login.locator("[data-test=login-status]", { hasText: "sign-in link is on its way" }).waitFor();
  let links: Json[] = [];
  for (let i = 0; i < 50 && links.length === 0; i++) {
    links = (await admin("GET", `/v1/emails?kind=login_link&customer_id=${demo.id}`)).data;
    if (links.length === 0) await login.waitForTimeout(100);
  }
  check(links.length === 1 && links[0]?.to === demo.email && links[0]?.status === "not_configured",
    "the sign-in page mailed one link to the demo customer, and none for an unknown address");
  await admin("PATCH", "/v1/account", { self_sign_in: false });

  // 8. The customer's language, changed in the profile when the session allows it.
  const lang = await session(demo.id, { permissions: { profile_update: { allowed_fields: ["locale"] } } });
  const page8 = await open(lang.url);
  await page8.locator("nav a[data-screen=profile]").click();
  await page8.locator("[data-test=save-profile]").waitFor();
  await page8.locator("input[name=locale]").fill("fr-ca");
  await page8.locator("[data-test=save-profile]").click();
  await page8.locator(".notice").waitFor();
  check((await admin("GET", `/v1/customers/${demo.id}`)).locale === "fr-CA", "the customer's language is saved, in canonical case");
  await page8.locator("html[lang=fr-CA]").waitFor({ state: "attached" });
  check((await page8.locator("nav a[data-screen=profile]").innerText()) === "Profil" && (await page8.locator("h1").innerText()) === "Profil",
    "and the portal speaks it at once: French");
  await accessible(page8, "profile with a language");
  await admin("PATCH", `/v1/customers/${demo.id}`, { locale: null });

  // A license key for the demo customer, with one activation from "their" software (the public
  // route, no API key), so the Licenses screen has something to show below.
  const license = await admin("POST", "/v1/license_keys", { customer_id: demo.id, activation_limit: 3 });
  const activated = await fetch(`${api}/v1/licenses/activate`, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ key: license.key, label: "Build server" }),
  });
  check(activated.status === 201, "the merchant's software activates a license key with the key alone");

  // 8b. Every screen in Arabic (right to left) and German, chosen by the customer's locale over
  // the browser's English: no word of the portal's own left in English. In Arabic any Latin word
  // outside data (marked translate="no": names, descriptions, e-mail addresses) is a string
  // the catalogue missed; acronyms (PDF, HTTP, currency codes) may stay.
  const english = JSON.parse(readFileSync(new URL("../../api/portal/i18n/en.json", import.meta.url), "utf8"));
  const german = JSON.parse(readFileSync(new URL("../../api/portal/i18n/de.json", import.meta.url), "utf8"));
  const everyScreen = ["overview", "credits", "bills", "usage", "subscriptions", "entitlements", "alerts", "licenses", "payment-methods", "activity", "profile"];
  const permissions = {
    subscription_cancel: { enabled: true, mode: "at_period_end" }, invoice_pay: { enabled: true }, plan_change: { enabled: true },
    quantity_change: { enabled: true }, promotion_code_redeem: { enabled: true }, payment_method_manage: { enabled: true },
    profile_update: { allowed_fields: ["name", "locale", "phone"] }, alerts_manage: { enabled: true },
    license_manage: { enabled: true },
  };
  /** The page's own texts (text nodes and labelling attributes) outside data. */
  // A string, not a function: tsx would wrap the helpers inside it in its own `__name`, which
  // the page does not have.
  const ownTexts = (page: Page): Promise<string[]> => page.evaluate(`(() => {
    const out = [];
    const own = (el) => el && !el.closest("[translate=no], script, style, noscript, .uplot");
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const text = walker.currentNode.textContent?.trim();
      if (text && own(walker.currentNode.parentElement)) out.push(text);
    }
    for (const el of document.body.querySelectorAll("[aria-label], [placeholder], [alt], [title]")) {
      if (!own(el)) continue;
      for (const a of ["aria-label", "placeholder", "alt", "title"]) if (el.getAttribute(a)) out.push(el.getAttribute(a));
    }
    return out;
  })()`);
  async function walk(lang: string, judge: (texts: string[]) => string[]) {
    await admin("PATCH", `/v1/customers/${demo.id}`, { locale: lang });
    const s = await session(demo.id, { permissions });
    const p = await open(s.url);
    await p.locator(`html[lang=${lang}]`).waitFor({ state: "attached" });
    const found: string[] = [];
    for (const screen of everyScreen) {
      await p.locator(`nav a[data-screen=${screen}]`).click();
      await p.locator("main h1").waitFor();
      await p.waitForLoadState("networkidle");
      if (screen === "subscriptions" && (await p.locator("[data-test=cancel]").count())) {
        await p.locator("[data-test=cancel]").first().click();
        await p.locator("[data-test=cancel-reason]").waitFor();
      }
      if (screen === "bills") {
        await p.locator("[data-test=bill] a").first().click();
        await p.locator("[data-test=amount-due]").waitFor();
        found.push(...judge(await ownTexts(p)).map((x) => `bill: ${x}`));
        await accessible(p, `a bill in ${lang}`);
        await p.goBack();
        await p.locator("[data-test=bill]").first().waitFor();
      }
      found.push(...judge(await ownTexts(p)).map((x) => `${screen}: ${x}`));
      await accessible(p, `${screen} in ${lang}`);
    }
    await p.context().close();
    return found;
  }
  // (Words of three letters or more: a locale's example, "ar-EG", is not English.)
  const latin = (texts: string[]) => texts.filter((x) => (x.match(/[A-Za-z]{3,}/g) || []).some((w) => w !== w.toUpperCase()));
  const arabic = await walk("ar", latin);
  check(arabic.length === 0, `every screen in Arabic, right to left, with no English left${arabic.length ? `: ${JSON.stringify(arabic)}` : ""}`);
  // English words the German catalogue never uses ("Credits" is German too).
  const germanWords = new Set(Object.values(german).filter((v) => typeof v === "string"));
  const plainEnglish = new Set(Object.entries(english)
    .filter(([, v]) => typeof v === "string" && !v.includes("{") && !germanWords.has(v)).map(([, v]) => v));
  const inGerman = await walk("de", (texts) => texts.filter((x) => plainEnglish.has(x)));
  check(inGerman.length === 0, `every screen in German, with no English left${inGerman.length ? `: ${JSON.stringify(inGerman)}` : ""}`);
  const rtl = await open((await session(demo.id, {})).url);
  await rtl.locator("[data-test=wallet-credits]").first().waitFor();
  check(await rtl.evaluate(() => document.documentElement.lang === "de" && document.documentElement.dir === "ltr"), "German is left to right");
  check((await rtl.title()).endsWith("· Abrechnung"), `and the tab's title is German too (${await rtl.title()})`);
  await admin("PATCH", `/v1/customers/${demo.id}`, { locale: "ar" });
  await rtl.reload();
  await rtl.locator("[data-test=wallet-credits]").first().waitFor();
  check(await rtl.evaluate(() => document.documentElement.dir === "rtl" && getComputedStyle(document.querySelector("nav")!).direction === "rtl"),
    "Arabic lays the page out right to left");
  await rtl.context().close();
  await admin("PATCH", `/v1/customers/${demo.id}`, { locale: null });

  // 8c. Alerts: the customer sets one (a wrong threshold is marked on its field first), sees
  // it, and removes it.
  const alerting = await session(demo.id, { permissions: { alerts_manage: { enabled: true } } });
  const page9 = await open(`${alerting.url}#/alerts`);
  await page9.locator("[data-test=create-alert]").waitFor();
  await page9.locator("[data-test=alert-type]").selectOption("credit_balance");
  check(await page9.locator("[data-test=alert-feature]").isHidden(), "a balance alert asks for no feature");
  await page9.locator("[data-test=alert-threshold]").fill("0");
  await page9.locator("[data-test=create-alert]").click();
  await page9.locator("[data-test=field-error][data-field=threshold]").waitFor();
  check(true, "a threshold of 0 is refused, marked on its field");
  await page9.locator("[data-test=alert-threshold]").fill("25");
  await page9.locator("[data-test=create-alert]").click();
  await page9.locator("[data-test=alert]").waitFor();
  const set = (await admin("GET", `/v1/customers/${demo.id}/alerts`)).data;
  check(set.length === 1 && set[0].type === "credit_balance" && set[0].threshold === "25" && set[0].created_by === "customer",
    "the customer set a credit-balance alert in the portal");
  check((await page9.locator("[data-test=alert]").innerText()).includes("Credit balance falls below 25"), "and sees it described");
  await accessible(page9, "alerts");
  await page9.locator("[data-test=remove-alert]").click();
  await page9.locator("[data-test=no-alerts]").waitFor();
  check((await admin("GET", `/v1/customers/${demo.id}/alerts`)).data.length === 0, "and removed it");
  await page9.context().close();

  // 8d. A "Contact us" plan: in the catalogue with a link instead of being offered.
  await admin("POST", "/v1/plans", { code: `${code}-enterprise`, name: "Portal Enterprise", currency: "USD", interval: "month",
    amount: "0", purchase: "contact_sales", contact_url: "https://sales.example.com/enterprise" });
  const shopping = await session(demo.id, { permissions: { plan_change: { enabled: true } } });
  const page10 = await open(`${shopping.url}#/subscriptions`);
  const enterpriseRow = page10.locator(`[data-test=plan][data-code="${code}-enterprise"]`);
  await enterpriseRow.waitFor();
  check(await enterpriseRow.locator("[data-test=contact-sales]").getAttribute("href") === "https://sales.example.com/enterprise"
    && (await enterpriseRow.locator("[data-test=contact-sales]").innerText()) === "Contact us"
    && (await enterpriseRow.locator("td.num").first().innerText()) === "Custom",
    "a contact-sales plan shows \"Custom\" and a Contact us link");
  const changeTo = await page10.locator("[data-test=new-plan] option").evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
  check(changeTo.length > 0 && !changeTo.includes(`${code}-enterprise`), "and is not offered as a plan to change to");
  await accessible(page10, "plans with a Contact us plan");
  await page10.context().close();

  // 8f. Licenses: the key shown is the one issued, copied whole by its button, with its
  // activations; the customer frees one, and the software's next validation of it is refused.
  const licensing = await session(demo.id, { permissions: { license_manage: { enabled: true } } });
  const page12 = await open(`${licensing.url}#/licenses`);
  await page12.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: new URL(api).origin });
  const licenseCard = page12.locator(`[data-test=license][data-id="${license.id}"]`);
  await licenseCard.waitFor();
  check((await licenseCard.locator("[data-test=license-key]").innerText()) === license.key, "the Licenses screen shows the key as issued");
  await licenseCard.locator("[data-test=copy-key]").click();
  await licenseCard.locator("[data-test=copy-status]", { hasText: "Copied." }).waitFor();
  check((await page12.evaluate("navigator.clipboard.readText()")) === license.key, "and its copy button puts exactly the key on the clipboard");
  check((await licenseCard.locator("[data-test=license-terms]").innerText()) === "Activations: 1 of 3"
    && (await licenseCard.locator("[data-test=activation]").innerText()).includes("Build server"),
    "with its limit and the software's activation");
  await accessible(page12, "licenses");
  const liveId = (await licenseCard.locator("[data-test=activation]").first().getAttribute("data-id"))!;
  await licenseCard.locator("[data-test=deactivate-activation]").click();
  await page12.locator(`[data-test=license][data-id="${license.id}"] [data-test=license-terms]`, { hasText: "Activations: 0 of 3" }).waitFor();
  const revalidated = await fetch(`${api}/v1/licenses/validate`, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ key: license.key, activation_id: liveId }),
  });
  const refusal = await revalidated.json();
  check(revalidated.status === 422 && refusal.code === "license_invalid" && refusal.reason === "activation_unknown",
    "the customer deactivated it, and the software's next check of that activation is refused");
  await page12.context().close();

  // 8e. Downloads: the bills and the usage as CSV, what the export routes serve.
  const downloads = await session(demo.id, {});
  const page11 = await open(`${downloads.url}#/bills`);
  await page11.locator("[data-test=bill]").first().waitFor();
  const [billsCsv] = await Promise.all([page11.waitForEvent("download"), page11.locator("[data-test=bills-csv]").click()]);
  const billsText = readFileSync(await billsCsv.path(), "utf8");
  const shownBills = await page11.locator("[data-test=bill]").count();
  check(billsCsv.suggestedFilename() === "bills.csv" && billsText.startsWith("id,number,customer_id,")
    && billsText.trim().split("\r\n").length - 1 >= shownBills,
    `the bills download as CSV (${billsText.trim().split("\r\n").length - 1} rows)`);
  await page11.goto(`${api}/portal/#/usage/7d`);
  await page11.locator("[data-test=usage-csv]").waitFor();
  const [usageCsv] = await Promise.all([page11.waitForEvent("download"), page11.locator("[data-test=usage-csv]").click()]);
  const usageText = readFileSync(await usageCsv.path(), "utf8");
  check(usageCsv.suggestedFilename() === "usage-7d.csv" && usageText.startsWith("period_start,feature,name,unit,quantity,events"),
    "and the usage of the window shown");
  await page11.context().close();

  // 9. Embedding: a site of the account's portal_frame_ancestors shows the portal in an iframe
  // (a reload inside it too); another site's frame is refused by the browser.
  await admin("PATCH", "/v1/account", { portal_frame_ancestors: ["https://shop.example.test"] });
  // Its own browser: Chromium's Local Network Access check would refuse any public site's
  // frame of this loopback server, hiding what frame-ancestors decides (a deployed portal is
  // not on loopback).
  const framing: Browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-features=LocalNetworkAccessChecks"],
  });
  async function embedded(parent: string, src: string): Promise<Page> {
    const context = await framing.newContext({ locale, viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.route(`${parent}/**`, (r) => r.fulfill({
      contentType: "text/html",
      body: `<!doctype html><html lang="en"><title>Shop</title><h1>Shop</h1><iframe id="portal" title="Billing" src="${src}" width="1200" height="800"></iframe></html>`,
    }));
    await page.goto(`${parent}/account`);
    return page;
  }
  const framedSession = await session(demo.id, { return_url: "https://shop.example.test/account" });
  const shop = await embedded("https://shop.example.test", framedSession.url);
  const inside = shop.frameLocator("#portal");
  await inside.locator("[data-test=wallet-credits]").first().waitFor();
  await inside.locator("[data-test=back-link]").waitFor();
  const portalFrame = shop.frames().find((f) => f !== shop.mainFrame())!;
  check(new URL(portalFrame.url()).searchParams.get("account") === account.id, "the framed page keeps its account in the address, not the code");
  await portalFrame.goto(portalFrame.url());
  await inside.locator("[data-test=wallet-credits]").first().waitFor();
  check(true, "an allowed site shows the portal in a frame, after a reload too");
  const refusedSession = await session(demo.id, {});
  const evil = await embedded("https://evil.example.test", refusedSession.url);
  await evil.waitForTimeout(1500);
  const evilFrame = evil.frames().find((f) => f !== evil.mainFrame());
  const shown = evilFrame ? await evilFrame.locator("#main").count() : 0;
  check(shown === 0 && evilFrame?.url().startsWith("chrome-error:") === true, "another site's frame of the portal is refused by the browser");
  await framing.close();
  await admin("PATCH", "/v1/account", { portal_frame_ancestors: [] });
  console.log("portal passed");
} finally {
  await browser.close();
}
