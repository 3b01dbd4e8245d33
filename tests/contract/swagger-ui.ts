// Swagger UI, for real: headless Chromium opens /swagger-ui/, authorizes with an admin key and a
// session token, runs "Try it out" on an admin and a portal operation, and checks the request
// that left the page: the right method, path and credential header (and not the other one).
//
// Env: API (base URL), KEY (admin API key), TOKEN (portal session token),
// CHROMIUM (default /usr/bin/chromium).
import { chromium, type Page, type Request } from "playwright-core";

const api = process.env.API ?? "http://127.0.0.1:8080";
const key = process.env.KEY;
const token = process.env.TOKEN;
if (!key || !token) throw new Error("set KEY and TOKEN");

function check(cond: unknown, what: string): asserts cond {
  if (!cond) throw new Error(`swagger-ui: ${what}`);
  console.log(`ok  ${what}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
try {
  const page = await browser.newPage();
  const sent: Request[] = [];
  page.on("request", (r) => {
    if (r.url().startsWith(`${api}/v1/`)) sent.push(r);
  });
  await page.goto(`${api}/swagger-ui/`);
  await page.locator(".opblock").first().waitFor({ timeout: 30_000 });
  check((await page.locator(".opblock").count()) >= 60, "Swagger UI renders every operation");

  await page.locator("button.authorize").first().click();
  const modal = page.locator(".modal-ux");
  await modal.locator(".auth-container", { hasText: "api_key" }).locator("input").fill(key);
  await modal.locator(".auth-container", { hasText: "session_token" }).locator("input").fill(token);
  const authorize = modal.locator("button.modal-btn.authorize");
  for (let i = await authorize.count(); i > 0; i--) {
    await authorize.first().click();
  }
  await modal.locator("button.btn-done").first().click();

  async function tryItOut(page: Page, method: string, path: string): Promise<Request> {
    const op = page.locator(`.opblock.opblock-${method}`, {
      has: page.locator(`.opblock-summary-path[data-path="${path}"]`),
    });
    await op.locator(".opblock-summary").first().click();
    await op.locator("button.try-out__btn").click();
    sent.length = 0;
    const request = page.waitForRequest((r) => r.url().startsWith(`${api}/v1/`));
    await op.locator("button.execute").click();
    const r = await request;
    await op.locator(".live-responses-table tr.response .response-col_status").first().waitFor();
    const shown = (await op.locator(".live-responses-table tr.response .response-col_status").first().innerText()).trim();
    check(shown.startsWith("200"), `${method.toUpperCase()} ${path} shows 200 in the page (got ${shown})`);
    return r;
  }

  const admin = await tryItOut(page, "get", "/v1/customers");
  const adminHeaders = await admin.allHeaders();
  check(admin.method() === "GET" && new URL(admin.url()).pathname === "/v1/customers", "admin Try it out hits GET /v1/customers");
  check(adminHeaders["x-api-key"] === key && !adminHeaders["x-session-token"], "with x-api-key only");

  const portal = await tryItOut(page, "get", "/v1/portal/wallets");
  const portalHeaders = await portal.allHeaders();
  check(portal.method() === "GET" && new URL(portal.url()).pathname === "/v1/portal/wallets", "portal Try it out hits GET /v1/portal/wallets");
  check(portalHeaders["x-session-token"] === token && !portalHeaders["x-api-key"], "with X-Session-Token only");
  console.log("swagger-ui passed");
} finally {
  await browser.close();
}
