// The hosted customer portal. It uses only the public portal API with `X-Session-Token`, as a
// merchant's own frontend would: the single-use `code` from the session URL is exchanged for
// the token, which is kept in this tab's sessionStorage (never in the URL, a cookie or
// persistent storage) so that a reload of the tab goes on; it is removed on logout and when the
// session ends, and the browser drops it with the tab. Threat model (docs/portal.md): only
// this origin's scripts run (CSP `script-src 'self'`, no inline script, no third party), and
// every text from the API goes into the page as text, never as HTML, so no injected script can
// read it; no cookie carries it, so there is nothing for a cross-site request to ride on.
"use strict";
(() => {
  const API = "/v1/portal";
  const locale = navigator.language || "en";
  const main = document.getElementById("main");

  let token = null;
  let session = null;
  let customer = null;
  let ending = false;
  let idleTimer = null;

  // ---- building the page ------------------------------------------------------------------

  /** An element: attributes (`on…` are listeners, `text` sets the text) and children. */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "text") el.textContent = v;
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  /** Why a customer cancels, as the API takes it. */
  const CANCEL_REASONS = [
    ["too_expensive", "It costs too much"],
    ["missing_features", "It lacks features I need"],
    ["switched_service", "I switched to another service"],
    ["unused", "I don't use it enough"],
    ["customer_service", "Customer service let me down"],
    ["too_complex", "It is too hard to use"],
    ["low_quality", "The quality is not good enough"],
    ["other", "Another reason"],
  ];

  function show(...nodes) {
    main.replaceChildren(...nodes.filter((n) => n !== null && n !== undefined && n !== false));
  }

  function table(headers, rows, caption) {
    return h("div", { class: "table-wrap" },
      h("table", {},
        caption ? h("caption", { class: "visually-hidden", text: caption }) : null,
        h("thead", {}, h("tr", {}, headers.map(([text, cls]) => h("th", { class: cls, scope: "col", text })))),
        h("tbody", {}, rows.length
          ? rows
          : h("tr", {}, h("td", { colspan: headers.length, class: "muted", text: "Nothing here yet." })))));
  }

  function td(value, cls) {
    return h("td", { class: cls }, value);
  }

  function card(label, big, ...more) {
    return h("div", { class: "card" }, h("div", { class: "label", text: label }), h("div", { class: "big" }, big), ...more);
  }

  function alertBox(err) {
    return h("div", { class: "alert", role: "alert", text: message(err) });
  }

  /** Puts each field the API names (`errors[].field`) next to its input in `form`, and says
   * in `status` what is wrong; fields the form does not show are listed there by name. */
  function fieldErrors(form, status, err) {
    for (const old of form.querySelectorAll(".field-error")) old.remove();
    for (const input of form.querySelectorAll("[aria-invalid]")) {
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-describedby");
    }
    const unplaced = [];
    for (const [i, e] of (err?.problem?.errors || []).entries()) {
      const input = form.elements[e.field];
      if (!(input instanceof HTMLElement)) {
        unplaced.push(`${e.field}: ${e.message}`);
        continue;
      }
      const id = `field-error-${i}`;
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", id);
      input.after(h("span", { class: "field-error", id, "data-test": "field-error", "data-field": e.field, text: e.message }));
    }
    const summary = err?.problem?.errors?.length
      ? ["Please correct the marked fields.", ...unplaced].join(" ")
      : message(err);
    status.replaceChildren(h("div", { class: "alert", role: "alert", text: summary }));
    form.querySelector("[aria-invalid]")?.focus();
  }

  function message(err) {
    if (err && err.problem) {
      return err.problem.detail || err.problem.title || `Error ${err.status}`;
    }
    return (err && err.message) || "Something went wrong.";
  }

  /** A button that runs `action` once at a time and shows its failure next to it. */
  function actionButton(text, action, cls, testId) {
    const b = h("button", { type: "button", class: cls, "data-test": testId, text });
    b.addEventListener("click", async () => {
      b.disabled = true;
      b.parentElement?.querySelector(":scope > .alert")?.remove();
      try {
        await action();
      } catch (err) {
        if (!ending && !(err instanceof Stale)) b.after(alertBox(err));
      } finally {
        b.disabled = false;
      }
    });
    return b;
  }

  // ---- numbers and dates --------------------------------------------------------------------

  /** Money, rounded to the currency's minor unit (or exact, for unit prices). The decimal
   * string is formatted as it is, not through a float. */
  function money(amount, currency, exact) {
    if (amount === null || amount === undefined) return "—";
    try {
      const opts = { style: "currency", currency };
      if (exact) opts.maximumFractionDigits = 20;
      return new Intl.NumberFormat(locale, opts).format(amount);
    } catch {
      return `${amount} ${currency}`;
    }
  }

  function number(n) {
    if (n === null || n === undefined) return "—";
    return new Intl.NumberFormat(locale, { maximumFractionDigits: 20 }).format(n);
  }

  function date(iso, withTime) {
    if (!iso) return "—";
    const opts = withTime ? { dateStyle: "medium", timeStyle: "short" } : { dateStyle: "medium" };
    try {
      return new Intl.DateTimeFormat(locale, { ...opts, timeZone: customer?.timezone || undefined }).format(new Date(iso));
    } catch {
      return new Intl.DateTimeFormat(locale, opts).format(new Date(iso));
    }
  }

  /** A table's date cell: the day, and the time where the screen has room for it. */
  function when(iso) {
    if (!iso) return "—";
    let time;
    try {
      time = new Intl.DateTimeFormat(locale, { timeStyle: "short", timeZone: customer?.timezone || undefined }).format(new Date(iso));
    } catch {
      time = new Intl.DateTimeFormat(locale, { timeStyle: "short" }).format(new Date(iso));
    }
    return h("span", { class: "nowrap" }, date(iso), h("span", { class: "muted hide-narrow", text: ` ${time}` }));
  }

  const words = (s) => (s ? String(s).replaceAll("_", " ") : "");

  function badge(text, tone) {
    return h("span", { class: `badge ${tone || ""}`, text: words(text) });
  }

  // ---- the API ------------------------------------------------------------------------------

  /** The screen moved on while a read was in flight: the screen that asked is no longer shown,
   * so its answer must not be drawn over the new one. */
  class Stale extends Error {}
  let routeSeq = 0;
  const orNull = (err) => {
    if (err instanceof Stale) throw err;
    return null;
  };

  class ApiError extends Error {
    constructor(status, problem) {
      super(problem?.detail || problem?.title || `HTTP ${status}`);
      this.status = status;
      this.problem = problem;
    }
  }

  async function api(method, path, body) {
    const seq = routeSeq;
    const headers = { "X-Session-Token": token };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(API + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
    if (res.status === 401) {
      sessionEnded();
      throw new ApiError(401, null);
    }
    if (!res.ok) {
      let problem = null;
      try {
        problem = await res.json();
      } catch { /* not problem+json */ }
      throw new ApiError(res.status, problem);
    }
    touched();
    if (res.status === 204) return null;
    const answer = await (res.headers.get("content-type")?.includes("application/pdf") ? res.blob() : res.json());
    if (method === "GET" && seq !== routeSeq) throw new Stale();
    return answer;
  }

  const query = (params) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
    const s = q.toString();
    return s ? `?${s}` : "";
  };

  // ---- the session --------------------------------------------------------------------------

  const enabled = (section) => session?.sections?.[section]?.enabled !== false;
  const preview = () => session?.mode === "admin_preview";
  const may = (permission) => !preview() && session?.permissions?.[permission]?.enabled === true;

  /** The session is over (expired, revoked, idle or logged out): to the merchant's
   * `return_url`, or a page that says so. */
  function sessionEnded() {
    if (ending) return;
    ending = true;
    token = null;
    forget();
    const back = session?.return_url;
    if (back && /^https?:\/\//i.test(back)) {
      location.replace(back);
      return;
    }
    endedPage("Your session has ended. Open the portal again from the site that sent you here.");
  }

  function endedPage(text) {
    document.getElementById("nav").replaceChildren();
    document.getElementById("logout").hidden = true;
    show(h("div", { class: "ended" }, h("h1", { text: "Billing portal" }), h("p", { "data-test": "ended", text })));
  }

  /** Ends the page when the session lapses: at `expires_at`, or after the idle timeout since
   * the last answer (each answer renews it on the server). */
  function touched() {
    if (!session?.idle_timeout_seconds) return;
    clearTimeout(idleTimer);
    idleTimer = setTimeout(sessionEnded, session.idle_timeout_seconds * 1000 + 1000);
  }

  function scheduleExpiry() {
    const ms = new Date(session.expires_at).getTime() - Date.now();
    // setTimeout takes at most ~24.8 days.
    if (ms < 2 ** 31) setTimeout(sessionEnded, Math.max(ms, 0) + 500);
    touched();
  }

  /** The tab's token, kept for a reload of this tab only. */
  const STORED = "portal-session-token";
  function remember(t) {
    try { sessionStorage.setItem(STORED, t); } catch { /* storage off: a reload needs a link */ }
  }
  function forget() {
    try { sessionStorage.removeItem(STORED); } catch { /* nothing kept */ }
  }
  function stored() {
    try { return sessionStorage.getItem(STORED); } catch { return null; }
  }

  /** Self sign-in (`/portal/login?account=…`): the customer asks for a link by e-mail. The
   * answer is the same whether or not the address is a customer's. */
  function loginPage(account) {
    const input = h("input", { id: "login-email", type: "email", autocomplete: "email", required: true, maxlength: "254", "data-test": "login-email" });
    const status = h("p", { role: "status", "data-test": "login-status" });
    const button = h("button", { type: "submit", text: "Email me a sign-in link" });
    const form = h("form", {
      class: "login",
      onsubmit: async (e) => {
        e.preventDefault();
        button.disabled = true;
        status.textContent = "";
        try {
          const res = await fetch(`${API}/login_links`, {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ account_id: account, email: input.value.trim() }),
            credentials: "omit",
            cache: "no-store",
          });
          const body = await res.json().catch(() => ({}));
          if (res.status === 202) status.textContent = "If this e-mail belongs to an account here, a sign-in link is on its way. Check your inbox.";
          else if (res.status === 429) status.textContent = "Too many requests. Please wait a minute and try again.";
          else status.textContent = body.errors?.[0]?.message ? `Please check the e-mail address: it ${body.errors[0].message}.` : (body.detail || "That did not work. Please try again.");
        } catch {
          status.textContent = "The portal could not be reached. Check your connection and try again.";
        } finally {
          button.disabled = false;
        }
      },
    },
    h("label", { for: "login-email", text: "Your e-mail" }), input, button);
    document.getElementById("nav").replaceChildren();
    show(h("div", { class: "ended" }, h("h1", { text: "Sign in" }),
      h("p", { text: "Enter the e-mail address of your account and we will send you a link to your billing portal." }),
      form, status));
  }

  async function start() {
    const params = new URLSearchParams(location.search);
    if (/\/login\/?$/.test(location.pathname) && params.get("account")) {
      loginPage(params.get("account"));
      return;
    }
    const code = params.get("code");
    // The code is single-use, but it should not stay in the address bar or history.
    if (code) history.replaceState(null, "", location.pathname + location.hash);
    if (code) {
      if (!(await exchange(code))) return;
    } else if (stored()) {
      // A reload of this tab: the session goes on if it is still valid (a 401 ends it).
      token = stored();
      try {
        session = await api("GET", "/session");
      } catch (err) {
        if (!ending) endedPage("The portal could not be reached. Check your connection and reload.");
        return;
      }
    } else {
      endedPage("This page opens from a link the merchant gives you. Ask them for a new one.");
      return;
    }
    scheduleExpiry();
    const [branding, me] = await Promise.all([
      api("GET", "/branding").catch(orNull),
      session.mode !== "guest" && enabled("profile") ? api("GET", "/customer").catch(orNull) : null,
    ]);
    customer = me;
    if (branding?.account_id) {
      history.replaceState(null, "", `${location.pathname}?account=${encodeURIComponent(branding.account_id)}${location.hash}`);
    }
    chrome(branding);
    // After a move between screens, focus goes to the new content (for keyboards and screen
    // readers), as a page load would put it.
    window.addEventListener("hashchange", () => route().then(() => main.focus({ preventScroll: true })));
    route();
  }

  /** Trades the login code for the token; false (with the page saying why) when it fails. */
  async function exchange(code) {
    forget();
    let res;
    try {
      res = await fetch(`${API}/session/exchange`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ code }),
        credentials: "omit",
        cache: "no-store",
      });
    } catch {
      endedPage("The portal could not be reached. Check your connection and try the link again.");
      return false;
    }
    if (!res.ok) {
      ending = true;
      endedPage("This link has expired or was already used. Ask the merchant for a new one.");
      return false;
    }
    const exchanged = await res.json();
    token = exchanged.token;
    session = exchanged.session;
    remember(token);
    return true;
  }

  // ---- the frame: branding, preview banner, navigation --------------------------------------

  const SCREENS = [
    { id: "overview", label: "Overview", section: "overview", render: overview },
    { id: "credits", label: "Credits", section: "credits", render: credits },
    { id: "bills", label: "Bills", section: "invoices", render: bills },
    { id: "usage", label: "Usage", section: "usage", render: usage },
    { id: "subscriptions", label: "Subscriptions", section: "subscriptions", render: subscriptions },
    { id: "entitlements", label: "Entitlements", section: "subscriptions", render: entitlements },
    { id: "payment-methods", label: "Payment methods", section: "payment_methods", render: paymentMethods },
    { id: "activity", label: "Activity", section: "activity", render: activity },
    { id: "profile", label: "Profile", section: "profile", render: profile },
  ];

  function screens() {
    if (session.mode === "guest") return [{ id: "plans", label: "Plans", render: plansOnly }];
    return SCREENS.filter((s) => enabled(s.section));
  }

  // ---- the merchant's colours, readable ----------------------------------------------------

  /** `#rgb` or `#rrggbb` (an alpha part is ignored) as [r, g, b] in 0–255, else null. */
  function rgbOf(hex) {
    const m = /^#([0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})$/i.exec(hex || "");
    if (!m) return null;
    const d = m[1].length <= 4 ? [...m[1].slice(0, 3)].map((c) => c + c) : [m[1].slice(0, 2), m[1].slice(2, 4), m[1].slice(4, 6)];
    return d.map((x) => parseInt(x, 16));
  }

  /** WCAG 2 relative luminance and contrast ratio. */
  function luminance([r, g, b]) {
    const lin = (c) => ((c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  }
  function contrast(a, b) {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  }
  const WHITE = [255, 255, 255];
  const INK = [0, 0, 0];
  const css = ([r, g, b]) => `rgb(${r}, ${g}, ${b})`;

  /** The colour darkened (towards black) just enough to read at 4.5:1 on white. */
  function readableOnWhite(c) {
    let k = 0;
    let out = c;
    while (contrast(out, WHITE) < 4.5 && k < 1) {
      k += 0.05;
      out = c.map((x) => Math.round(x * (1 - k)));
    }
    return out;
  }

  /** Applies a merchant colour as `name`, with the text colour that reads on it (white or ink,
   * whichever contrasts more: at least 4.5:1 for any colour) as `name` + `-on`, and a shade of
   * it that reads on white as `name` + `-text` (for links, outlined buttons, notices). */
  function brand(name, hex) {
    const c = rgbOf(hex);
    if (!c) return;
    const root = document.documentElement.style;
    root.setProperty(name, css(c));
    root.setProperty(`${name}-on`, css(contrast(c, WHITE) >= contrast(c, INK) ? WHITE : INK));
    root.setProperty(`${name}-text`, css(readableOnWhite(c)));
  }

  function chrome(branding) {
    if (branding) {
      const name = branding.name || "Billing portal";
      document.getElementById("merchant").textContent = name;
      document.title = `${name} · Billing`;
      brand("--primary", branding.primary_color);
      brand("--accent", branding.accent_color);
      if (/^https:\/\//i.test(branding.logo_url || "")) {
        const logo = document.getElementById("logo");
        logo.src = branding.logo_url;
        logo.alt = `${name} logo`;
        logo.hidden = false;
      }
      const support = [];
      if (branding.support_email) support.push("Questions? ", h("a", { href: `mailto:${branding.support_email}`, text: branding.support_email }));
      if (branding.support_url && /^https?:\/\//i.test(branding.support_url)) {
        support.push(support.length ? " · " : "", h("a", { href: branding.support_url, rel: "noopener", text: "Support" }));
      }
      document.getElementById("support").replaceChildren(...support);
    }
    if (preview()) {
      const banner = document.getElementById("preview");
      banner.textContent = `Viewing as ${customer?.name || session.customer_id} (admin preview: read only)`;
      banner.hidden = false;
    }
    // Back to the merchant's site, when the session names one.
    const back = session?.return_url;
    if (back && /^https?:\/\//i.test(back)) {
      const link = h("a", { href: back, class: "back", "data-test": "back-link", text: `← Back to ${branding?.name || "the merchant"}` });
      document.querySelector("header.top .brand").prepend(link);
    }
    const logout = document.getElementById("logout");
    logout.textContent = preview() ? "End preview" : "Log out";
    logout.hidden = false;
    logout.addEventListener("click", async () => {
      try {
        await api("DELETE", "/session");
      } finally {
        sessionEnded();
      }
    });
    document.getElementById("nav").replaceChildren(
      ...screens().map((s) => h("a", { href: `#/${s.id}`, "data-screen": s.id, text: s.label })));
  }

  async function route() {
    if (!token) return;
    routeSeq += 1;
    const [id, ...rest] = location.hash.replace(/^#\/?/, "").split("?")[0].split("/");
    const list = screens();
    const screen = list.find((s) => s.id === id) || list[0];
    for (const a of document.querySelectorAll("nav a")) {
      if (a.dataset.screen === screen?.id) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    if (!screen) {
      show(h("p", { text: "Nothing is shared in this portal." }));
      return;
    }
    show(h("p", { class: "muted", text: "Loading…" }));
    try {
      await screen.render(...rest.map(decodeURIComponent));
    } catch (err) {
      if (!ending && !(err instanceof Stale)) show(h("h1", { text: screen.label }), alertBox(err));
    }
  }

  // ---- Overview -----------------------------------------------------------------------------

  /** The balance once the usage not yet invoiced is paid, when that usage is not nothing. */
  function ongoing(w) {
    if (w.ongoing_balance === w.balance) return "";
    return h("div", { class: "muted", "data-test": "wallet-ongoing" },
      `After usage not yet billed: ${number(w.ongoing_balance)} credits (${money(w.ongoing_balance_value, w.currency)})`);
  }

  async function overview() {
    const o = await api("GET", "/overview");
    const parts = [h("h1", { text: `Hello${customer?.name ? `, ${customer.name}` : ""}` })];
    const cards = [];
    for (const w of o.wallets || []) {
      cards.push(card(w.name || "Wallet",
        h("span", { "data-test": "wallet-credits", text: `${number(w.balance)} credits` }),
        h("div", { class: "muted", "data-test": "wallet-value", text: money(w.balance_value, w.currency) }),
        ongoing(w)));
    }
    for (const b of o.outstanding || []) {
      cards.push(card(`Outstanding (${b.currency})`,
        h("span", { "data-test": "outstanding", text: money(b.outstanding, b.currency) }),
        h("div", { class: "muted" }, `${b.open_invoices} open bill${b.open_invoices === 1 ? "" : "s"}`,
          Number(b.overdue) > 0 ? [" · ", h("span", { class: "badge bad", text: `${money(b.overdue, b.currency)} overdue` })] : "")));
    }
    if (o.outstanding && o.outstanding.length === 0) cards.push(card("Outstanding", "Nothing to pay"));
    for (const s of o.subscriptions || []) {
      cards.push(card("Subscription", s.plan_name,
        h("div", { class: "muted", "data-test": "next-billing" },
          s.cancel_at_period_end ? `Ends ${date(s.current_period_end)}` : `Next bill ${date(s.next_billing_at || s.current_period_end)}`)));
    }
    parts.push(h("div", { class: "cards" }, cards));
    if (o.usage_7d) {
      parts.push(h("h2", { text: "Usage, last 7 days" }));
      const charts = h("div", {});
      parts.push(charts, breakdownTable(o.usage_7d));
      show(...parts);
      drawUsage(charts, o.usage_7d);
    } else {
      show(...parts);
    }
  }

  // ---- Credits ------------------------------------------------------------------------------

  async function credits(walletId) {
    const wallets = (await api("GET", "/wallets")).data;
    const wallet = wallets.find((w) => w.id === walletId) || wallets[0];
    const parts = [h("h1", { text: "Credits" })];
    if (!wallet) {
      show(...parts, h("p", { class: "muted", text: "You have no credit wallet." }));
      return;
    }
    if (wallets.length > 1) {
      parts.push(h("div", { class: "toolbar" }, h("label", {}, "Wallet",
        h("select", { onchange: (e) => { location.hash = `#/credits/${encodeURIComponent(e.target.value)}`; } },
          wallets.map((w) => h("option", { value: w.id, selected: w.id === wallet.id, text: `${w.name || w.id} (${w.currency})` }))))));
    }
    parts.push(h("div", { class: "cards" },
      card("Balance", `${number(wallet.balance)} credits`, h("div", { class: "muted", text: money(wallet.balance_value, wallet.currency) }),
        ongoing(wallet)),
      card("Expiring in the next 30 days", `${number(wallet.credits_expiring_next_30_days)} credits`),
      card("Conversion", `1 credit = ${money(wallet.conversion_rate, wallet.currency, true)}`,
        h("div", { class: "muted" }, badge(wallet.status, wallet.status === "active" ? "good" : "")))));
    parts.push(h("h2", { text: "Transactions" }));
    const rows = h("tbody", {});
    const more = h("div", { class: "actions" });
    parts.push(h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, [["Date"], ["Type"], ["Description", "hide-narrow"], ["Credits", "num"], ["Value", "num"], ["Balance", "num"]]
        .map(([t, c]) => h("th", { scope: "col", class: c, text: t })))),
      rows)), more);
    show(...parts);
    const load = async (cursor) => {
      const page = await api("GET", `/wallets/${encodeURIComponent(wallet.id)}/transactions${query({ limit: 20, cursor })}`);
      for (const t of page.data) {
        const lots = lotNotes(t);
        const sign = t.balance_after !== t.balance_before && Number(t.balance_after) < Number(t.balance_before) ? "−" : "+";
        rows.append(h("tr", { "data-test": "transaction" },
          td(when(t.created_at)),
          td(h("span", {}, badge(t.type, t.type === "credit" ? "good" : ""), lots.map((l) => h("div", { class: "muted", text: l })))),
          td([t.description || words(t.reason) || "", t.reference ? h("div", { class: "muted", text: t.reference }) : null], "hide-narrow"),
          td(`${sign}${number(t.credits)}`, "num"),
          td(money(t.value, wallet.currency), "num"),
          td(number(t.balance_after), "num")));
      }
      more.replaceChildren(page.has_more ? actionButton("Show more", () => load(page.next_cursor), "secondary") : "");
    };
    await load(null);
  }

  /** What the lots behind an entry were: kind, draw priority and expiry (credits granted, or
   * the lots a debit drew from). */
  function lotNotes(t) {
    const notes = (t.allocations || []).map((a) => {
      const parts = [words(a.kind)];
      if (a.priority !== null && a.priority !== undefined) parts.push(`priority ${a.priority}`);
      if (a.expires_at) parts.push(`expires ${date(a.expires_at)}`);
      else if (a.priority !== null && a.priority !== undefined) parts.push("no expiry");
      return parts.join(" · ");
    });
    return [...new Set(notes)];
  }

  // ---- Bills --------------------------------------------------------------------------------

  function invoiceBadge(inv) {
    if (inv.status === "voided") return badge("voided");
    if (inv.status === "draft") return badge("draft");
    if (inv.payment_status === "paid") return badge("paid", "good");
    if (inv.overdue) return badge("overdue", "bad");
    return badge(inv.payment_status, "warn");
  }

  async function bills(id) {
    if (id) return bill(id);
    const params = new URLSearchParams(location.hash.split("?")[1] || "");
    const q = params.get("q") || "";
    const status = params.get("status") || "";
    const search = h("input", { type: "search", name: "q", value: q, placeholder: "Number or memo", "data-test": "bill-search" });
    const statusSelect = h("select", { name: "status" },
      [["", "All"], ["unpaid", "Unpaid"], ["partially_paid", "Partially paid"], ["overdue", "Overdue"], ["paid", "Paid"], ["voided", "Voided"]]
        .map(([v, t]) => h("option", { value: v, selected: v === status, text: t })));
    const form = h("form", { class: "toolbar", role: "search" },
      h("label", {}, "Search", search), h("label", {}, "Status", statusSelect), h("button", { type: "submit", text: "Search" }));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const next = new URLSearchParams();
      if (search.value.trim()) next.set("q", search.value.trim());
      if (statusSelect.value) next.set("status", statusSelect.value);
      const s = next.toString();
      location.hash = `#/bills${s ? `?${s}` : ""}`;
    });
    const filter = { q, limit: 20 };
    if (status === "overdue") filter.overdue = "true";
    else if (status === "voided") filter.status = "voided";
    else if (status) filter.payment_status = status;
    const summary = await api("GET", "/invoices/summary").catch(orNull);
    const parts = [h("h1", { text: "Bills" })];
    if (summary?.data?.length) {
      parts.push(h("div", { class: "cards" }, summary.data.map((b) =>
        card(`Outstanding (${b.currency})`, money(b.outstanding, b.currency),
          Number(b.overdue) > 0 ? h("div", { class: "muted", text: `${money(b.overdue, b.currency)} overdue` }) : null))));
    }
    const rows = h("tbody", {});
    const more = h("div", { class: "actions" });
    parts.push(h("h2", { text: "All bills" }), form, h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, [["Number"], ["Issued", "hide-narrow"], ["Due", "hide-narrow"], ["Total", "num"], ["Due now", "num"], ["Status"]]
        .map(([t, c]) => h("th", { scope: "col", class: c, text: t })))), rows)), more);
    show(...parts);
    const load = async (cursor) => {
      const page = await api("GET", `/invoices${query({ ...filter, cursor })}`);
      if (!cursor && page.data.length === 0) rows.append(h("tr", {}, h("td", { colspan: 6, class: "muted", text: "No bills match." })));
      for (const inv of page.data) {
        rows.append(h("tr", { "data-test": "bill" },
          td(h("a", { class: "link", href: `#/bills/${encodeURIComponent(inv.id)}`, text: inv.number || "Draft" })),
          td(date(inv.issued_at), "hide-narrow"),
          td(date(inv.due_at), "hide-narrow"),
          td(money(inv.total, inv.currency), "num"),
          td(money(inv.amount_due, inv.currency), "num"),
          td(invoiceBadge(inv))));
      }
      more.replaceChildren(page.has_more ? actionButton("Show more", () => load(page.next_cursor), "secondary") : "");
    };
    await load(null);
  }

  async function bill(id) {
    const inv = await api("GET", `/invoices/${encodeURIComponent(id)}`);
    const download = actionButton("Download PDF",
      () => downloadPdf(`/invoices/${encodeURIComponent(inv.id)}/pdf`, inv.number || inv.id), "secondary", "pdf");
    const notes = inv.credit_notes || [];
    const creditedTo = { none: "Off the amount due", wallet: "To your credits", payment: "Refunded" };
    const actions = h("div", { class: "actions" }, download);
    const payable = inv.status === "finalized" && Number(inv.amount_due) > 0;
    if (payable && may("invoice_pay")) {
      actions.append(
        actionButton(`Pay ${money(inv.amount_due, inv.currency)} from credits`, async () => {
          await api("POST", `/invoices/${encodeURIComponent(inv.id)}/pay`, { source: "wallet" });
          await bill(inv.id);
          main.prepend(h("div", { class: "notice", role: "status", text: "Paid from your credits. Thank you." }));
        }, "", "pay-wallet"),
        actionButton("Pay with saved method", async () => {
          const r = await api("POST", `/invoices/${encodeURIComponent(inv.id)}/pay`, { source: "payment_method" });
          const url = r?.payment?.payment_url || r?.payment_url;
          if (url && /^https?:\/\//i.test(url)) location.assign(url);
          else await bill(inv.id);
        }, "secondary", "pay-method"));
    }
    show(
      h("p", {}, h("a", { class: "link", href: "#/bills", text: "← All bills" })),
      h("h1", {}, `Bill ${inv.number || "(draft)"} `, invoiceBadge(inv)),
      h("div", { class: "cards" },
        card("Total", money(inv.total, inv.currency)),
        card("Due now", h("span", { "data-test": "amount-due", text: money(inv.amount_due, inv.currency) }),
          h("div", { class: "muted", text: inv.due_at ? `Due ${date(inv.due_at)}` : "" })),
        card("Issued", date(inv.issued_at), inv.memo ? h("div", { class: "muted", text: inv.memo }) : null),
        inv.billing ? card("Billed to", inv.billing.legal_name || "",
          [inv.billing.address?.line1, [inv.billing.address?.postal_code, inv.billing.address?.city].filter(Boolean).join(" "),
            ...(inv.billing.tax_ids || []).map((t) => t.value)]
            .filter(Boolean).map((line) => h("div", { class: "muted", text: line })),
          inv.revised_at ? h("div", { "data-test": "revised", text: `Revised ${date(inv.revised_at)}` }) : null) : null),
      actions,
      h("h2", { text: "Lines" }),
      table([["Description"], ["Quantity", "num"], ["Unit price", "num hide-narrow"], ["Amount", "num"]],
        inv.lines.map((l) => h("tr", {},
          td([l.description, l.period_start ? h("div", { class: "muted", text: `${date(l.period_start)} – ${date(l.period_end)}` }) : null]),
          td(number(l.quantity), "num"),
          td(money(l.unit_amount, inv.currency, true), "num hide-narrow"),
          td(money(l.amount, inv.currency), "num"))), "Invoice lines"),
      h("div", { class: "cards" },
        card("Subtotal", money(inv.subtotal, inv.currency)),
        (inv.discounts || []).map((d) => card(`Discount: ${d.name}`,
          h("span", { "data-test": "invoice-discount", text: `−${money(d.amount, inv.currency)}` }))),
        (inv.tax_amounts || []).map((t) =>
          card(`${t.name} ${t.percentage}%${t.inclusive ? " (included)" : ""}`,
            h("span", { "data-test": "tax-amount", text: money(t.amount, inv.currency) }))),
        Number(inv.amount_credited) > 0
          ? card("Credited", h("span", { "data-test": "amount-credited", text: money(inv.amount_credited, inv.currency) }))
          : null,
        card("Paid", money(inv.amount_paid, inv.currency))),
      notes.length ? h("h2", { text: "Credit notes" }) : null,
      notes.length
        ? table([["Number"], ["Issued", "hide-narrow"], ["Credited", "num"], ["How"], ["PDF"]],
          notes.map((n) => h("tr", { "data-test": "credit-note" },
            td(n.number),
            td(date(n.created_at), "hide-narrow"),
            td(money(n.total, inv.currency), "num"),
            td(n.status === "voided" ? "Void" : creditedTo[n.refund_to] || n.refund_to),
            td(actionButton("Download", () => downloadPdf(`/credit_notes/${encodeURIComponent(n.id)}/pdf`, n.number),
              "secondary", "credit-note-pdf")))), "Credit notes")
        : null);
  }

  /** Downloads a PDF the API serves under the session, named `name`.pdf. */
  async function downloadPdf(path, name) {
    const blob = await api("GET", path);
    const url = URL.createObjectURL(blob);
    const a = h("a", { href: url, download: `${name}.pdf` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }

  // ---- Entitlements -------------------------------------------------------------------------

  /** What the plans grant, with this period's use as of the last recorded event: a bar per
   * limited feature (a native <meter>, so assistive technology reads its value), the kind of
   * limit and when the period resets. */
  async function entitlements() {
    const list = await api("GET", "/entitlements");
    const parts = [h("h1", { text: "Entitlements" })];
    if (!list.data.length) parts.push(h("p", { class: "muted", text: "Your plans grant no metered features." }));
    for (const e of list.data) {
      const id = `ent-${e.feature}`;
      const limited = e.limit !== null && e.limit !== undefined;
      parts.push(h("div", { class: "card entitlement", "data-test": "entitlement", "data-feature": e.feature },
        h("div", { class: "label", id, text: e.feature }),
        h("div", { class: "big", "data-test": "entitlement-used",
          text: limited ? `${number(e.used)} of ${number(e.limit)}` : `${number(e.used)} (no limit)` }),
        limited ? h("meter", { "aria-labelledby": id, min: "0", max: e.limit, value: e.used,
          high: e.limit, optimum: "0", "data-test": "entitlement-bar" }) : null,
        h("p", { class: "muted" },
          limited ? `${e.usage_percent}% used · ${e.soft ? "soft limit: over it is allowed and billed" : "hard limit: use stops at it"}` : "",
          limited ? h("br", {}) : null,
          `Resets ${date(e.resets_at)}`)));
    }
    show(...parts);
  }

  // ---- Usage --------------------------------------------------------------------------------

  async function usage(win) {
    const windowName = ["1d", "7d", "30d"].includes(win) ? win : "7d";
    const u = await api("GET", `/usage${query({ window: windowName })}`);
    const switcher = h("div", { class: "segmented", role: "group", "aria-label": "Time window" },
      [["1d", "24 hours"], ["7d", "7 days"], ["30d", "30 days"]].map(([w, label]) =>
        h("button", {
          type: "button", "aria-pressed": String(w === windowName), "data-window": w, text: label,
          onclick: () => { location.hash = `#/usage/${w}`; },
        })));
    const charts = h("div", { "data-test": "usage-charts", "data-window": windowName });
    show(h("h1", { text: "Usage" }), h("div", { class: "toolbar" }, switcher),
      h("p", { class: "muted", text: `${date(u.from, true)} – ${date(u.to, true)}, by ${u.granularity}` }),
      charts, h("h2", { text: "Breakdown" }), breakdownTable(u));
    drawUsage(charts, u);
  }

  function breakdownTable(u) {
    return table([["Feature"], ["Usage", "num"], ["Events", "num hide-narrow"], ["Cost", "num"]],
      (u.breakdown || []).map((b) => h("tr", { "data-test": "breakdown" },
        td(b.name || b.feature),
        td(`${number(b.total_usage)} ${b.unit || ""}`, "num"),
        td(number(b.events), "num hide-narrow"),
        td(b.total_cost === null || b.total_cost === undefined ? "—" : money(b.total_cost, b.currency), "num"))),
      "Usage by feature");
  }

  /** One chart a feature (their units differ), drawn by uPlot; the breakdown table carries the
   * same numbers for screen readers. */
  function drawUsage(container, u) {
    if (!window.uPlot) return;
    const style = getComputedStyle(document.documentElement);
    const colour = style.getPropertyValue("--primary").trim() || "#1f4fd1";
    const names = new Map((u.breakdown || []).map((b) => [b.feature, b.name]));
    for (const s of u.series || []) {
      const name = names.get(s.feature) || s.feature;
      const box = h("figure", { class: "chart", "aria-label": `${name}: usage over time (the table below has the totals)` },
        h("h3", { text: `${name} (${s.unit || "units"})` }));
      container.append(box);
      const xs = s.points.map((p) => new Date(p.t).getTime() / 1000);
      // Chart positions only; every figure shown as text stays exact.
      const ys = s.points.map((p) => Number(p.quantity));
      const width = () => Math.max(box.clientWidth - 16, 200);
      const plot = new window.uPlot({
        width: width(),
        height: 200,
        legend: { show: false },
        scales: { x: { time: true } },
        series: [{}, { label: s.feature, stroke: colour, fill: `${colour}22`, width: 2, points: { show: ys.length < 40 } }],
        axes: [{}, { values: (_, ticks) => ticks.map((t) => number(t)) }],
      }, [xs, ys], box);
      new ResizeObserver(() => plot.setSize({ width: width(), height: 200 })).observe(box);
    }
  }

  // ---- Subscriptions and plans --------------------------------------------------------------

  function priceOf(p) {
    const every = p.interval_count > 1 ? `${p.interval_count} ${p.interval}s` : p.interval;
    return `${money(p.amount, p.currency)} / ${every}`;
  }

  async function subscriptions() {
    const [subs, plans] = await Promise.all([api("GET", "/subscriptions"), api("GET", "/plans").catch((err) => orNull(err) || { data: [] })]);
    const upcoming = await Promise.all(subs.data.map((s) =>
      !["active", "trialing", "past_due"].includes(s.status) || s.cancel_at_period_end
        ? null
        : api("GET", `/subscriptions/${encodeURIComponent(s.id)}/upcoming_invoice`).catch(orNull)));
    const parts = [h("h1", { text: "Subscriptions" })];
    if (!subs.data.length) parts.push(h("p", { class: "muted", text: "You have no subscriptions." }));
    subs.data.forEach((s, i) => parts.push(subscriptionCard(s, plans.data, upcoming[i])));
    parts.push(h("h2", { text: "Plans" }), plansTable(plans.data));
    show(...parts);
  }

  /** The estimated next charge: the upcoming invoice's lines and total as they stand now. */
  function upcomingInvoice(u) {
    return h("section", { class: "upcoming", "data-test": "upcoming-invoice", "aria-label": "Next invoice" },
      h("h3", { text: `Next invoice, ${date(u.billing_at)} (estimate)` }),
      table([["Item"], ["Quantity", "num hide-narrow"], ["Amount", "num"]],
        u.lines.map((l) => h("tr", { "data-test": "upcoming-line" },
          td([l.description, l.period_start ? h("div", { class: "muted", text: `${date(l.period_start)} – ${date(l.period_end)}` }) : null]),
          td(number(l.quantity), "num hide-narrow"),
          td(money(l.amount, u.currency), "num"))), "Next invoice"),
      (u.discounts || []).map((d) => h("p", { class: "muted", "data-test": "upcoming-discount",
        text: `Discount ${d.name}: −${money(d.amount, u.currency)}` })),
      (u.tax_amounts || []).map((t) => h("p", { class: "muted", "data-test": "upcoming-tax",
        text: `${t.name} ${t.percentage}%${t.inclusive ? " (included)" : ""}: ${money(t.amount, u.currency)}` })),
      h("p", { class: "total" }, "Estimated total ", h("strong", { "data-test": "upcoming-total", text: money(u.total, u.currency) })),
      h("p", { class: "muted", text: "Usage until the end of the period is added as it comes in." }));
  }

  function subscriptionCard(s, plans, upcoming) {
    const live = ["active", "trialing", "past_due"].includes(s.status);
    const tone = s.status === "active" || s.status === "trialing" ? "good" : s.status === "past_due" ? "bad" : "";
    const el = h("div", { class: "card", "data-test": "subscription", "data-id": s.id },
      h("div", { class: "label", text: "Plan" }),
      h("div", { class: "big", "data-test": "plan-name", text: s.plan_name }),
      h("div", {}, badge(s.status, tone), s.cancel_at_period_end ? [" ", badge("cancels at period end", "warn")] : ""),
      h("p", { class: "muted" },
        `Current period ${date(s.current_period_start)} – ${date(s.current_period_end)}`,
        h("br", {}),
        s.cancel_at_period_end ? `Ends ${date(s.current_period_end)}` : live ? `Next bill ${date(s.next_billing_at || s.current_period_end)}` : "",
        s.pending_plan_id ? [h("br", {}), `Changes to ${s.pending_plan_name} at renewal`] : ""),
      h("p", { "data-test": "seats", text: `${s.quantity} ${s.quantity === 1 ? "seat" : "seats"}` +
        (s.pending_quantity ? `, ${s.pending_quantity} from the next period` : "") }),
      s.discount ? h("p", { "data-test": "discount" }, badge(s.discount.name, "good"), " ", discountTerms(s.discount)) : null,
      upcoming ? upcomingInvoice(upcoming) : null);
    const actions = h("div", { class: "actions" });
    const rerender = async () => subscriptions();
    if (live && may("subscription_cancel")) {
      if (s.cancel_at_period_end) {
        actions.append(actionButton("Keep my subscription", async () => {
          await api("POST", `/subscriptions/${encodeURIComponent(s.id)}/uncancel`, {});
          await rerender();
        }, "secondary", "uncancel"));
      } else {
        const now = session.permissions.subscription_cancel.mode === "immediately";
        const cancel = h("button", { type: "button", class: "secondary", "data-test": "cancel", text: "Cancel subscription" });
        cancel.addEventListener("click", () => {
          // Why, optionally: the confirmation stays one click away whatever is chosen.
          const reasonId = `cancel-reason-${s.id}`;
          const commentId = `cancel-comment-${s.id}`;
          const reason = h("select", { id: reasonId, "data-test": "cancel-reason" },
            h("option", { value: "", text: "Choose one (optional)" }),
            CANCEL_REASONS.map(([value, text]) => h("option", { value, text })));
          const comment = h("textarea", { id: commentId, "data-test": "cancel-comment", maxlength: "1000", rows: "2" });
          // The merchant's offer, if any, sits beside the confirmation: never a step before it.
          const offer = h("div", { "data-test": "retention-slot" });
          cancel.replaceWith(h("div", { class: "cancel-flow" },
            h("p", { text: now ? "It ends today, and the usage so far is billed now." : `It runs until ${date(s.current_period_end)}, then ends.` }),
            h("label", { for: reasonId, text: "Why are you cancelling?" }), reason,
            h("label", { for: commentId, text: "Anything else you want to tell us? (optional)" }), comment,
            offer,
            h("div", { class: "actions" },
              actionButton("Confirm cancellation", async () => {
                const body = { at: now ? "immediately" : "period_end" };
                if (reason.value) body.reason = reason.value;
                if (comment.value.trim()) body.comment = comment.value.trim();
                await api("POST", `/subscriptions/${encodeURIComponent(s.id)}/cancel`, body);
                await rerender();
              }, "danger", "confirm-cancel"))));
          api("GET", `/subscriptions/${encodeURIComponent(s.id)}/retention_offer`).then(({ offer: o }) => {
            if (!o) return;
            offer.replaceChildren(h("div", { class: "offer", "data-test": "retention-offer", role: "note" },
              h("strong", { text: `Before you go: ${o.name}` }), " ", discountTerms(o),
              h("div", { class: "actions" }, actionButton("Accept the offer", async () => {
                await api("POST", `/subscriptions/${encodeURIComponent(s.id)}/retention_offer/accept`, {});
                await rerender();
              }, "secondary", "accept-offer"))));
          }).catch(() => {});
        });
        actions.append(cancel);
      }
    }
    if (live && may("plan_change")) {
      // Only plans the subscription can move to: another plan in the currency it is billed in.
      const choices = plans.filter((p) => p.id !== s.plan_id && p.currency === s.currency);
      if (choices.length) {
        const select = h("select", { "aria-label": "New plan", "data-test": "new-plan" }, choices.map((p) => h("option", { value: p.code, text: `${p.name} – ${priceOf(p)}` })));
        const preview = h("div", {});
        const nameOf = (code) => choices.find((p) => p.code === code)?.name || code;
        actions.append(select, actionButton("Preview change", async () => {
          const p = await api("POST", `/subscriptions/${encodeURIComponent(s.id)}/change/preview`, { plan: select.value });
          preview.replaceChildren(h("p", {},
            `${p.upgrade ? "Upgrade" : "Change"} to ${nameOf(p.plan_code)}, effective ${date(p.effective_at)}: `,
            h("strong", { text: money(p.net, p.currency) }), " now."),
          actionButton("Confirm change", async () => {
            await api("POST", `/subscriptions/${encodeURIComponent(s.id)}/change`, { plan: select.value });
            await rerender();
          }, "", "confirm-change"));
        }, "secondary", "preview-change"), preview);
      }
    }
    const plan = plans.find((p) => p.id === s.plan_id);
    if (live && may("quantity_change")) actions.append(seatsChange(s, plan, rerender));
    if (live && may("promotion_code_redeem")) actions.append(redeemCode(s, rerender));
    el.append(actions);
    return el;
  }

  /** What a discount takes off and for how long. */
  function discountTerms(d) {
    const off = d.percent_off ? `${d.percent_off}% off` : `${money(d.amount_off, d.currency)} off`;
    const left = d.periods_left ?? d.duration_in_periods;
    const how = d.duration === "forever" ? "every invoice"
      : d.duration === "once" ? "the next invoice" : `${left} ${left === 1 ? "invoice" : "invoices"}`;
    return `${off} ${how}`;
  }

  /** Seats within the plan's limits: previewed (what is charged or credited now), then changed. */
  function seatsChange(s, plan, rerender) {
    const inputId = `seats-${s.id}`;
    const limits = plan?.quantity || { min: 1, max: null };
    const input = h("input", { id: inputId, type: "number", inputmode: "numeric", "data-test": "seats-input",
      min: String(limits.min || 1), max: limits.max ? String(limits.max) : null, step: "1", value: String(s.quantity) });
    const result = h("div", { "data-test": "seats-preview" });
    const body = () => ({ quantity: Number(input.value) });
    return h("div", { class: "seats-change" },
      h("label", { for: inputId, text: "Seats" }), input,
      actionButton("Preview seats", async () => {
        const p = await api("POST", `/subscriptions/${encodeURIComponent(s.id)}/change/preview`, body());
        result.replaceChildren(h("p", {},
          `${p.quantity} seats, effective ${date(p.effective_at)}: `,
          h("strong", { "data-test": "seats-total", text: money(p.total, p.currency) }), " now."),
        actionButton("Confirm seats", async () => {
          await api("POST", `/subscriptions/${encodeURIComponent(s.id)}/change`, body());
          await rerender();
        }, "", "confirm-seats"));
      }, "secondary", "preview-seats"), result);
  }

  /** A promotion code typed by the customer; the API's reason shown when it is refused. */
  function redeemCode(s, rerender) {
    const inputId = `code-${s.id}`;
    const input = h("input", { id: inputId, type: "text", autocomplete: "off", "data-test": "promotion-code", maxlength: "50" });
    return h("div", { class: "redeem" },
      h("label", { for: inputId, text: "Promotion code" }), input,
      actionButton("Apply code", async () => {
        try {
          await api("POST", `/subscriptions/${encodeURIComponent(s.id)}/discount`, { promotion_code: input.value.trim() });
        } catch (err) {
          const why = err?.problem?.errors?.[0]?.message;
          if (why) throw new Error(`This code ${why}.`);
          throw err;
        }
        await rerender();
      }, "secondary", "apply-code"));
  }

  function plansTable(plans) {
    return table([["Plan"], ["Price", "num"], ["Trial", "num hide-narrow"]],
      plans.map((p) => h("tr", { "data-test": "plan" },
        td([p.name, p.description ? h("div", { class: "muted", text: p.description }) : null]),
        td(p.discount ? [h("s", { text: priceOf(p) }), h("div", { "data-test": "plan-discounted",
          text: `${money(p.discount.amount, p.currency)} with ${p.discount.name}` })] : priceOf(p), "num"),
        td(p.trial_days ? `${p.trial_days} days` : "—", "num hide-narrow"))), "Plans");
  }

  async function plansOnly() {
    const plans = await api("GET", "/plans");
    show(h("h1", { text: "Plans" }), plansTable(plans.data));
  }

  // ---- Payment methods ----------------------------------------------------------------------

  async function paymentMethods() {
    const methods = (await api("GET", "/payment_methods")).data;
    const manage = may("payment_method_manage");
    const parts = [h("h1", { text: "Payment methods" })];
    if (!methods.length) parts.push(h("p", { class: "muted", text: "No payment method is saved." }));
    const cards = methods.map((m) => {
      const title = m.type === "card"
        ? `${m.brand || "Card"} •••• ${m.last4 || ""}`
        : `${m.bank_name || words(m.type)}${m.last4 ? ` •••• ${m.last4}` : ""}`;
      const actions = h("div", { class: "actions" });
      if (manage && m.status === "active" && !m.is_default) {
        actions.append(actionButton("Make default", async () => {
          await api("POST", `/payment_methods/${encodeURIComponent(m.id)}/default`, {});
          await paymentMethods();
        }, "secondary", "make-default"));
      }
      if (manage && m.status !== "detached") {
        actions.append(actionButton("Remove", async () => {
          await api("DELETE", `/payment_methods/${encodeURIComponent(m.id)}`);
          await paymentMethods();
        }, "secondary", "remove"));
      }
      return h("div", { class: "card", "data-test": "payment-method", "data-id": m.id },
        h("div", { class: "big", text: title }),
        h("div", {}, m.is_default ? badge("default", "good") : "", " ", badge(m.status, m.status === "active" ? "" : "bad")),
        m.exp_month ? h("p", { class: "muted", text: `Expires ${String(m.exp_month).padStart(2, "0")}/${m.exp_year}` }) : null,
        actions);
    });
    parts.push(h("div", { class: "cards" }, cards));
    if (manage) {
      parts.push(h("div", { class: "actions" }, actionButton("Add a payment method", async () => {
        const link = await api("POST", "/payment_methods/setup", {});
        if (/^https?:\/\//i.test(link.url)) location.assign(link.url);
      })));
    }
    show(...parts);
  }

  // ---- Activity and payments ----------------------------------------------------------------

  async function activity() {
    const rows = h("tbody", {});
    const more = h("div", { class: "actions" });
    const parts = [h("h1", { text: "Activity" }), h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, [["When"], ["What"], ["Amount", "num"]].map(([t, c]) => h("th", { scope: "col", class: c, text: t })))),
      rows)), more];
    let payments = null;
    if (enabled("payments")) {
      payments = await api("GET", "/payments?limit=20").catch(orNull);
    }
    if (payments) {
      parts.push(h("h2", { text: "Payments" }), table([["Date"], ["Method"], ["Status"], ["Amount", "num"]],
        payments.data.map((p) => h("tr", { "data-test": "payment" },
          td(when(p.created_at)),
          td(words(p.method)),
          td(badge(p.status, p.status === "succeeded" ? "good" : p.status === "failed" ? "bad" : "warn")),
          td([money(p.amount, p.currency), Number(p.amount_refunded) > 0 ? h("div", { class: "muted", text: `${money(p.amount_refunded, p.currency)} refunded` }) : null], "num"))),
        "Payments"));
    }
    show(...parts);
    const load = async (cursor) => {
      const page = await api("GET", `/activity${query({ limit: 20, cursor })}`);
      if (!cursor && page.data.length === 0) rows.append(h("tr", {}, h("td", { colspan: 3, class: "muted", text: "Nothing yet." })));
      for (const a of page.data) {
        rows.append(h("tr", { "data-test": "activity" },
          td(when(a.occurred_at)),
          td([a.description, a.status && a.status !== "success" ? [" ", badge(a.status, "bad")] : ""]),
          td(a.amount ? money(a.amount, a.currency) : "", "num")));
      }
      more.replaceChildren(page.has_more ? actionButton("Show more", () => load(page.next_cursor), "secondary") : "");
    };
    await load(null);
  }

  // ---- Profile ------------------------------------------------------------------------------

  async function profile() {
    customer = await api("GET", "/customer");
    const allowed = preview() ? [] : session.permissions?.profile_update?.allowed_fields || [];
    const c = customer;
    const a = c.address || {};
    const b = c.billing || {};
    const field = (name, label, value, type) => h("label", {}, label,
      h("input", { name, type: type || "text", value: value ?? "", disabled: !allowed.includes(name.split(".")[0]) }));
    const form = h("form", { class: "profile", "aria-label": "Profile" },
      field("name", "Name", c.name),
      field("email", "Email", c.email, "email"),
      field("phone", "Phone", c.phone, "tel"),
      field("timezone", "Time zone", c.timezone),
      field("locale", "Language (e.g. de-DE)", c.locale),
      field("address.line1", "Address", a.line1),
      field("address.line2", "Address line 2", a.line2),
      field("address.postal_code", "Postal code", a.postal_code),
      field("address.city", "City", a.city),
      field("address.state", "State / region", a.state),
      field("address.country", "Country (2 letters)", a.country),
      field("billing.legal_name", "Legal name on bills", b.legal_name),
      field("billing.tax_id", "Tax id", b.tax_id),
      field("billing.email", "Billing email", b.email, "email"),
      h("label", { class: "check" },
        h("input", { name: "auto_pay", type: "checkbox", checked: c.auto_pay, disabled: !allowed.includes("auto_pay") }),
        "Pay new bills automatically"));
    const status = h("div", {});
    const parts = [h("h1", { text: "Profile" }), form, status];
    if (allowed.length) {
      form.append(h("div", { class: "actions" }, h("button", { type: "submit", "data-test": "save-profile", text: "Save" })));
      form.addEventListener("submit", async (e) => {
        e.preventDefault();
        const val = (n) => form.elements[n].value.trim() || null;
        const patch = {};
        if (allowed.includes("name")) patch.name = val("name") || c.name;
        if (allowed.includes("email")) patch.email = val("email");
        if (allowed.includes("phone")) patch.phone = val("phone");
        if (allowed.includes("timezone")) patch.timezone = val("timezone") || c.timezone;
        if (allowed.includes("locale")) patch.locale = val("locale");
        if (allowed.includes("auto_pay")) patch.auto_pay = form.elements.auto_pay.checked;
        if (allowed.includes("address")) {
          const addr = Object.fromEntries(["line1", "line2", "city", "state", "postal_code", "country"].map((k) => [k, val(`address.${k}`)]));
          patch.address = Object.values(addr).some((v) => v) ? addr : null;
        }
        if (allowed.includes("billing")) {
          patch.billing = { legal_name: val("billing.legal_name"), tax_id: val("billing.tax_id"), email: val("billing.email"), address: b.address || null };
        }
        const button = form.querySelector("button[type=submit]");
        button.disabled = true;
        try {
          customer = await api("PATCH", "/customer", patch);
          fieldErrors(form, status, null);
          status.replaceChildren(h("div", { class: "notice", role: "status", text: "Saved." }));
        } catch (err) {
          if (!ending) fieldErrors(form, status, err);
        } finally {
          button.disabled = false;
        }
      });
    } else {
      parts.splice(1, 0, h("p", { class: "muted", text: "To change these details, contact the merchant." }));
    }
    show(...parts);
  }

  start().catch((err) => {
    if (!ending && !(err instanceof Stale)) show(alertBox(err));
  });
})();
