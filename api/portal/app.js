// The hosted customer portal. It uses only the public portal API with `X-Session-Token`, as a
// merchant's own frontend would: the single-use `code` from the session URL is exchanged for
// the token, which is kept in this tab's sessionStorage (never in the URL, a cookie or
// persistent storage) so that a reload of the tab goes on; it is removed on logout and when the
// session ends, and the browser drops it with the tab. Threat model (docs/portal.md): only
// this origin's scripts run (CSP `script-src 'self'`, no inline script, no third party), and
// every text from the API goes into the page as text, never as HTML, so no injected script can
// read it; no cookie carries it, so there is nothing for a cross-site request to ride on.
//
// Language: every word the portal itself shows comes from the message catalogue of one
// language (`/portal/i18n/<language>.json`, the same files the server's e-mails and PDFs use),
// chosen from the customer's locale, then the browser's languages, then English; numbers,
// amounts and dates are formatted for that locale by Intl. What people wrote (names,
// descriptions, plan names) is data: it is shown as written and marked `translate="no"`.
"use strict";
(() => {
  const API = "/v1/portal";
  const main = document.getElementById("main");

  let token = null;
  let session = null;
  let customer = null;
  let ending = false;
  let idleTimer = null;
  /** The account's branding, kept to draw the frame again in another language. */
  let lastBranding = null;

  // ---- language -----------------------------------------------------------------------------

  /** The languages with a catalogue, and those written right to left. */
  const LANGUAGES = ["en", "de", "fr", "es", "ar"];
  const RTL = new Set(["ar"]);
  /** The chosen language, the locale Intl formats with, and its catalogue. */
  let lang = "en";
  let locale = "en";
  let messages = {};

  /** The first of `tags` (BCP 47) whose language has a catalogue: [language, locale]. */
  function choose(tags) {
    for (const tag of tags) {
      const language = String(tag || "").split("-")[0].toLowerCase();
      if (LANGUAGES.includes(language)) return [language, tag];
    }
    return ["en", "en"];
  }

  /** Loads the catalogue for the customer's locale, else the browser's, else English, and sets
   * the page's language and direction. */
  async function useLanguage(customerLocale) {
    const [language, tag] = choose([customerLocale, ...(navigator.languages || [navigator.language])]);
    if (language !== lang || !Object.keys(messages).length) {
      const res = await fetch(`/portal/i18n/${language}.json`, { credentials: "omit" });
      messages = await res.json();
      lang = language;
    }
    try {
      locale = Intl.getCanonicalLocales(tag)[0];
    } catch {
      locale = language;
    }
    document.documentElement.lang = locale;
    document.documentElement.dir = RTL.has(language) ? "rtl" : "ltr";
    // The tab's title until the merchant's name is known (`chrome`).
    if (!lastBranding) document.title = t("app.title");
  }

  /** The message `key` with `{name}` placeholders filled from `vars`; a plural message (an
   * object of CLDR plural categories) is chosen by `vars.count`. */
  function t(key, vars) {
    let m = messages[key];
    if (m && typeof m === "object") {
      m = m[new Intl.PluralRules(locale).select(Number(vars?.count ?? 0))] ?? m.other;
    }
    if (typeof m !== "string") return key;
    return m.replace(/\{(\w+)\}/g, (_, name) => (vars && name in vars ? String(vars[name]) : `{${name}}`));
  }

  /** Like `t`, for a message with nodes in it (a link, a strong figure): a list of strings and
   * the nodes of `nodes` where their placeholders are. */
  function tNodes(key, nodes, vars) {
    const text = t(key, vars);
    return text.split(/(\{\w+\})/).filter(Boolean).map((part) => {
      const name = /^\{(\w+)\}$/.exec(part)?.[1];
      return name && nodes[name] ? nodes[name] : part;
    });
  }

  /** The word for an API value (a status, a type): `group.value` in the catalogue, or the value
   * itself marked as data when the catalogue does not know it. */
  function term(group, value) {
    if (value === null || value === undefined || value === "") return "";
    const key = `${group}.${value}`;
    return key in messages ? t(key) : dataText(String(value).replaceAll("_", " "));
  }

  /** Text people wrote (a name, a description): shown as written, not to be translated. */
  function dataText(text) {
    return h("span", { translate: "no", text });
  }

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
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  /** Why a customer cancels, as the API takes it. */
  const CANCEL_REASONS = ["too_expensive", "missing_features", "switched_service", "unused",
    "customer_service", "too_complex", "low_quality", "other"];

  function show(...nodes) {
    main.removeAttribute("aria-busy");
    main.replaceChildren(...nodes.filter((n) => n !== null && n !== undefined && n !== false));
  }

  /** A table; `headers` are [catalogue key, class] pairs. */
  function table(headers, rows, caption) {
    return h("div", { class: "table-wrap" },
      h("table", {},
        caption ? h("caption", { class: "visually-hidden", text: caption }) : null,
        head(headers),
        h("tbody", {}, rows.length
          ? rows
          : h("tr", {}, h("td", { colspan: headers.length, class: "muted", text: t("common.empty") })))));
  }

  function head(headers) {
    return h("thead", {}, h("tr", {}, headers.map(([key, cls]) => h("th", { class: cls, scope: "col", text: t(key) }))));
  }

  function td(value, cls) {
    return h("td", { class: cls }, value);
  }

  function card(label, big, ...more) {
    return h("div", { class: "card" }, h("div", { class: "label" }, label), h("div", { class: "big" }, big), ...more);
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
      ? [t("form.correct_marked"), ...unplaced].join(" ")
      : message(err);
    status.replaceChildren(h("div", { class: "alert", role: "alert", text: summary }));
    form.querySelector("[aria-invalid]")?.focus();
  }

  /** What went wrong: the API's own explanation (problem+json detail), else a general one. */
  function message(err) {
    if (err && err.problem) {
      return err.problem.detail || err.problem.title || t("error.http", { status: err.status });
    }
    if (err instanceof ApiError) return t("error.http", { status: err.status });
    return (err && err.message) || t("error.generic");
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

  /** A period: "start – end". */
  const span = (from, to, withTime) => `${date(from, withTime)} – ${date(to, withTime)}`;

  /** A badge with the word for an API value (`group.value`). */
  function badge(group, value, tone) {
    return h("span", { class: `badge ${tone || ""}` }, term(group, value));
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
    // JSON, or a file (a PDF, a CSV export).
    const answer = await (res.headers.get("content-type")?.includes("json") ? res.json() : res.blob());
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
    endedPage(t("ended.session"));
  }

  function endedPage(text) {
    document.getElementById("nav").replaceChildren();
    document.getElementById("logout").hidden = true;
    show(h("div", { class: "ended" }, h("h1", { text: t("app.title") }), h("p", { "data-test": "ended", text })));
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
  function remember(tok) {
    try { sessionStorage.setItem(STORED, tok); } catch { /* storage off: a reload needs a link */ }
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
    const button = h("button", { type: "submit", text: t("login.submit") });
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
          if (res.status === 202) status.textContent = t("login.sent");
          else if (res.status === 429) status.textContent = t("login.too_many");
          else status.textContent = body.errors?.[0]?.message ? t("login.check_email", { why: body.errors[0].message }) : (body.detail || t("login.failed"));
        } catch {
          status.textContent = t("error.unreachable");
        } finally {
          button.disabled = false;
        }
      },
    },
    h("label", { for: "login-email", text: t("login.email") }), input, button);
    document.getElementById("nav").replaceChildren();
    show(h("div", { class: "ended" }, h("h1", { text: t("login.title") }),
      h("p", { text: t("login.intro") }),
      form, status));
  }

  async function start() {
    await useLanguage(null);
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
        if (!ending) endedPage(t("error.unreachable_reload"));
        return;
      }
    } else {
      endedPage(t("ended.no_link"));
      return;
    }
    scheduleExpiry();
    const [branding, me] = await Promise.all([
      api("GET", "/branding").catch(orNull),
      session.mode !== "guest" && enabled("profile") ? api("GET", "/customer").catch(orNull) : null,
    ]);
    customer = me;
    await useLanguage(customer?.locale);
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
      endedPage(t("error.unreachable_link"));
      return false;
    }
    if (!res.ok) {
      ending = true;
      endedPage(t("ended.link_used"));
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
    { id: "overview", section: "overview", render: overview },
    { id: "credits", section: "credits", render: credits },
    { id: "bills", section: "invoices", render: bills },
    { id: "usage", section: "usage", render: usage },
    { id: "subscriptions", section: "subscriptions", render: subscriptions },
    { id: "entitlements", section: "subscriptions", render: entitlements },
    { id: "alerts", section: "usage", render: alerts },
    { id: "licenses", section: "licenses", render: licenses },
    { id: "payment-methods", section: "payment_methods", render: paymentMethods },
    { id: "activity", section: "activity", render: activity },
    { id: "profile", section: "profile", render: profile },
  ];
  const screenName = (s) => t(`screen.${s.id}`);

  function screens() {
    if (session.mode === "guest") return [{ id: "plans", render: plansOnly }];
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
    lastBranding = branding;
    const name = branding?.name || t("app.title");
    document.getElementById("merchant").textContent = name;
    document.getElementById("merchant").setAttribute("translate", "no");
    document.title = branding?.name ? t("app.page_title", { name }) : name;
    if (branding) {
      brand("--primary", branding.primary_color);
      brand("--accent", branding.accent_color);
      if (/^https:\/\//i.test(branding.logo_url || "")) {
        const logo = document.getElementById("logo");
        logo.src = branding.logo_url;
        logo.alt = t("app.logo", { name });
        logo.hidden = false;
      }
      const support = [];
      if (branding.support_email) {
        support.push(...tNodes("app.questions", { email: h("a", { href: `mailto:${branding.support_email}`, translate: "no", text: branding.support_email }) }));
      }
      if (branding.support_url && /^https?:\/\//i.test(branding.support_url)) {
        support.push(support.length ? " · " : "", h("a", { href: branding.support_url, rel: "noopener", text: t("app.support") }));
      }
      document.getElementById("support").replaceChildren(...support);
    }
    if (preview()) {
      const banner = document.getElementById("preview");
      banner.replaceChildren(...tNodes("app.preview", { name: dataText(customer?.name || session.customer_id) }));
      banner.hidden = false;
    }
    // Back to the merchant's site, when the session names one.
    document.querySelector("[data-test=back-link]")?.remove();
    const back = session?.return_url;
    if (back && /^https?:\/\//i.test(back)) {
      const link = h("a", { href: back, class: "back", "data-test": "back-link" },
        branding?.name ? tNodes("app.back_to", { name: dataText(branding.name) }) : t("app.back"));
      document.querySelector("header.top .brand").prepend(link);
    }
    const logout = document.getElementById("logout");
    logout.textContent = preview() ? t("app.end_preview") : t("app.log_out");
    logout.hidden = false;
    logout.onclick = async () => {
      try {
        await api("DELETE", "/session");
      } finally {
        sessionEnded();
      }
    };
    document.getElementById("nav").setAttribute("aria-label", t("app.sections"));
    document.getElementById("nav").replaceChildren(
      ...screens().map((s) => h("a", { href: `#/${s.id}`, "data-screen": s.id, text: screenName(s) })));
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
      show(h("p", { text: t("app.nothing_shared") }));
      return;
    }
    show(h("p", { class: "muted", text: t("common.loading") }));
    try {
      await screen.render(...rest.map(decodeURIComponent));
    } catch (err) {
      if (!ending && !(err instanceof Stale)) show(h("h1", { text: screenName(screen) }), alertBox(err));
    }
  }

  // ---- Overview -----------------------------------------------------------------------------

  /** The balance once the usage not yet invoiced is paid, when that usage is not nothing. */
  function ongoing(w) {
    if (w.ongoing_balance === w.balance) return "";
    return h("div", { class: "muted", "data-test": "wallet-ongoing" },
      t("credits.after_usage", { credits: number(w.ongoing_balance), value: money(w.ongoing_balance_value, w.currency) }));
  }

  const creditsText = (n) => t("credits.amount", { count: Number(n), credits: number(n) });

  async function overview() {
    const o = await api("GET", "/overview");
    const parts = [h("h1", {}, customer?.name ? tNodes("overview.hello_name", { name: dataText(customer.name) }) : t("overview.hello"))];
    const cards = [];
    for (const w of o.wallets || []) {
      cards.push(card(w.name ? dataText(w.name) : t("credits.wallet"),
        h("span", { "data-test": "wallet-credits", text: creditsText(w.balance) }),
        h("div", { class: "muted", "data-test": "wallet-value", text: money(w.balance_value, w.currency) }),
        ongoing(w)));
    }
    for (const b of o.outstanding || []) {
      cards.push(card(t("bills.outstanding_in", { currency: b.currency }),
        h("span", { "data-test": "outstanding", text: money(b.outstanding, b.currency) }),
        h("div", { class: "muted" }, t("bills.open_count", { count: b.open_invoices }),
          Number(b.overdue) > 0 ? [" · ", h("span", { class: "badge bad", text: t("bills.overdue_amount", { amount: money(b.overdue, b.currency) }) })] : "")));
    }
    if (o.outstanding && o.outstanding.length === 0) cards.push(card(t("bills.outstanding"), t("bills.nothing_to_pay")));
    for (const s of o.subscriptions || []) {
      cards.push(card(t("subscriptions.subscription"), dataText(s.plan_name),
        h("div", { class: "muted", "data-test": "next-billing" },
          s.cancel_at_period_end ? t("subscriptions.ends", { date: date(s.current_period_end) })
            : t("subscriptions.next_bill", { date: date(s.next_billing_at || s.current_period_end) }))));
    }
    parts.push(h("div", { class: "cards" }, cards));
    if (o.usage_7d) {
      parts.push(h("h2", { text: t("overview.usage_7d") }));
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
    const parts = [h("h1", { text: t("screen.credits") })];
    if (!wallet) {
      show(...parts, h("p", { class: "muted", text: t("credits.none") }));
      return;
    }
    if (wallets.length > 1) {
      parts.push(h("div", { class: "toolbar" }, h("label", {}, t("credits.wallet"),
        h("select", { onchange: (e) => { location.hash = `#/credits/${encodeURIComponent(e.target.value)}`; } },
          wallets.map((w) => h("option", { value: w.id, selected: w.id === wallet.id, translate: "no", text: `${w.name || w.id} (${w.currency})` }))))));
    }
    parts.push(h("div", { class: "cards" },
      card(t("credits.balance"), creditsText(wallet.balance), h("div", { class: "muted", text: money(wallet.balance_value, wallet.currency) }),
        ongoing(wallet)),
      card(t("credits.expiring_30d"), creditsText(wallet.credits_expiring_next_30_days)),
      card(t("credits.conversion"), t("credits.one_credit", { value: money(wallet.conversion_rate, wallet.currency, true) }),
        h("div", { class: "muted" }, badge("wallet_status", wallet.status, wallet.status === "active" ? "good" : "")))));
    parts.push(h("h2", { text: t("credits.transactions") }));
    const rows = h("tbody", {});
    const more = h("div", { class: "actions" });
    parts.push(h("div", { class: "table-wrap" }, h("table", {},
      head([["common.date"], ["common.type"], ["common.description", "hide-narrow"], ["credits.credits", "num"], ["credits.value", "num"], ["credits.balance", "num"]]),
      rows)), more);
    show(...parts);
    const load = async (cursor) => {
      const page = await api("GET", `/wallets/${encodeURIComponent(wallet.id)}/transactions${query({ limit: 20, cursor })}`);
      for (const tx of page.data) {
        const lots = lotNotes(tx);
        const sign = tx.balance_after !== tx.balance_before && Number(tx.balance_after) < Number(tx.balance_before) ? "−" : "+";
        rows.append(h("tr", { "data-test": "transaction" },
          td(when(tx.created_at)),
          td(h("span", {}, badge("tx_type", tx.type, tx.type === "credit" ? "good" : ""), lots.map((l) => h("div", { class: "muted", text: l })))),
          td([tx.description ? dataText(tx.description) : term("tx_reason", tx.reason), tx.reference ? h("div", { class: "muted", translate: "no", text: tx.reference }) : null], "hide-narrow"),
          td(`${sign}${number(tx.credits)}`, "num"),
          td(money(tx.value, wallet.currency), "num"),
          td(number(tx.balance_after), "num")));
      }
      more.replaceChildren(page.has_more ? actionButton(t("common.show_more"), () => load(page.next_cursor), "secondary") : "");
    };
    await load(null);
  }

  /** What the lots behind an entry were: kind, draw priority and expiry (credits granted, or
   * the lots a debit drew from). */
  function lotNotes(tx) {
    const notes = (tx.allocations || []).map((a) => {
      const parts = [t(`lot_kind.${a.kind}`)];
      if (a.priority !== null && a.priority !== undefined) parts.push(t("credits.priority", { priority: number(a.priority) }));
      if (a.expires_at) parts.push(t("credits.expires", { date: date(a.expires_at) }));
      else if (a.priority !== null && a.priority !== undefined) parts.push(t("credits.no_expiry"));
      return parts.join(" · ");
    });
    return [...new Set(notes)];
  }

  // ---- Bills --------------------------------------------------------------------------------

  function invoiceBadge(inv) {
    if (inv.status === "voided") return badge("invoice_status", "voided");
    if (inv.status === "draft") return badge("invoice_status", "draft");
    if (inv.payment_status === "paid") return badge("payment_status", "paid", "good");
    if (inv.overdue) return badge("payment_status", "overdue", "bad");
    return badge("payment_status", inv.payment_status, "warn");
  }

  async function bills(id) {
    if (id) return bill(id);
    const params = new URLSearchParams(location.hash.split("?")[1] || "");
    const q = params.get("q") || "";
    const status = params.get("status") || "";
    const search = h("input", { type: "search", name: "q", value: q, placeholder: t("bills.search_placeholder"), "data-test": "bill-search" });
    const statusSelect = h("select", { name: "status" },
      [["", t("bills.all")], ...["unpaid", "partially_paid", "overdue", "paid"].map((v) => [v, t(`payment_status.${v}`)]), ["voided", t("invoice_status.voided")]]
        .map(([v, text]) => h("option", { value: v, selected: v === status, text })));
    const form = h("form", { class: "toolbar", role: "search" },
      h("label", {}, t("bills.search"), search), h("label", {}, t("common.status"), statusSelect), h("button", { type: "submit", text: t("bills.search") }));
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
    const parts = [h("h1", { text: t("screen.bills") })];
    if (summary?.data?.length) {
      parts.push(h("div", { class: "cards" }, summary.data.map((b) =>
        card(t("bills.outstanding_in", { currency: b.currency }), money(b.outstanding, b.currency),
          Number(b.overdue) > 0 ? h("div", { class: "muted", text: t("bills.overdue_amount", { amount: money(b.overdue, b.currency) }) }) : null))));
    }
    const rows = h("tbody", {});
    const more = h("div", { class: "actions" });
    const { limit: _, ...exported } = filter;
    const csv = actionButton(t("common.download_csv"), () => download(`/invoices/export${query(exported)}`, "bills.csv"), "secondary", "bills-csv");
    parts.push(h("h2", { text: t("bills.all_bills") }), form, h("div", { class: "actions" }, csv), h("div", { class: "table-wrap" }, h("table", {},
      head([["bills.number"], ["bills.issued", "hide-narrow"], ["bills.due", "hide-narrow"], ["bills.total", "num"], ["bills.due_now", "num"], ["common.status"]]),
      rows)), more);
    show(...parts);
    const load = async (cursor) => {
      const page = await api("GET", `/invoices${query({ ...filter, cursor })}`);
      if (!cursor && page.data.length === 0) rows.append(h("tr", {}, h("td", { colspan: 6, class: "muted", text: t("bills.none_match") })));
      for (const inv of page.data) {
        rows.append(h("tr", { "data-test": "bill" },
          td(h("a", { class: "link", href: `#/bills/${encodeURIComponent(inv.id)}`, translate: inv.number ? "no" : null, text: inv.number || t("invoice_status.draft") })),
          td(date(inv.issued_at), "hide-narrow"),
          td(date(inv.due_at), "hide-narrow"),
          td(money(inv.total, inv.currency), "num"),
          td(money(inv.amount_due, inv.currency), "num"),
          td(invoiceBadge(inv))));
      }
      more.replaceChildren(page.has_more ? actionButton(t("common.show_more"), () => load(page.next_cursor), "secondary") : "");
    };
    await load(null);
  }

  /** A tax's name, rate and whether prices include it. */
  const taxLabel = (tax) => [...tNodes("tax.rate", { name: dataText(tax.name) }, { rate: number(tax.percentage) }),
    tax.inclusive ? ` (${t("bills.tax_included")})` : ""];

  async function bill(id) {
    const inv = await api("GET", `/invoices/${encodeURIComponent(id)}`);
    const download = actionButton(t("bills.download_pdf"),
      () => downloadPdf(`/invoices/${encodeURIComponent(inv.id)}/pdf`, inv.number || inv.id), "secondary", "pdf");
    const notes = inv.credit_notes || [];
    const actions = h("div", { class: "actions" }, download);
    const payable = inv.status === "finalized" && Number(inv.amount_due) > 0;
    if (payable && may("invoice_pay")) {
      actions.append(
        actionButton(t("bills.pay_from_credits", { amount: money(inv.amount_due, inv.currency) }), async () => {
          await api("POST", `/invoices/${encodeURIComponent(inv.id)}/pay`, { source: "wallet" });
          await bill(inv.id);
          main.prepend(h("div", { class: "notice", role: "status", text: t("bills.paid_from_credits") }));
        }, "", "pay-wallet"),
        actionButton(t("bills.pay_with_method"), async () => {
          const r = await api("POST", `/invoices/${encodeURIComponent(inv.id)}/pay`, { source: "payment_method" });
          const url = r?.payment?.payment_url || r?.payment_url;
          if (url && /^https?:\/\//i.test(url)) location.assign(url);
          else await bill(inv.id);
        }, "secondary", "pay-method"));
    }
    show(
      h("p", {}, h("a", { class: "link", href: "#/bills", text: t("bills.back_all") })),
      h("h1", {}, inv.number ? tNodes("bills.bill_number", { number: dataText(inv.number) }) : t("bills.bill_draft"), " ", invoiceBadge(inv)),
      h("div", { class: "cards" },
        card(t("bills.total"), money(inv.total, inv.currency)),
        card(t("bills.due_now"), h("span", { "data-test": "amount-due", text: money(inv.amount_due, inv.currency) }),
          h("div", { class: "muted", text: inv.due_at ? t("bills.due_on", { date: date(inv.due_at) }) : "" })),
        card(t("bills.issued"), date(inv.issued_at), inv.memo ? h("div", { class: "muted", translate: "no", text: inv.memo }) : null),
        inv.billing ? card(t("bills.billed_to"), dataText(inv.billing.legal_name || ""),
          [inv.billing.address?.line1, [inv.billing.address?.postal_code, inv.billing.address?.city].filter(Boolean).join(" "),
            ...(inv.billing.tax_ids || []).map((x) => x.value)]
            .filter(Boolean).map((line) => h("div", { class: "muted", translate: "no", text: line })),
          inv.revised_at ? h("div", { "data-test": "revised", text: t("bills.revised", { date: date(inv.revised_at) }) }) : null) : null),
      actions,
      h("h2", { text: t("bills.lines") }),
      table([["common.description"], ["common.quantity", "num"], ["bills.unit_price", "num hide-narrow"], ["common.amount", "num"]],
        inv.lines.map((l) => h("tr", {},
          td([dataText(l.description), l.period_start ? h("div", { class: "muted", text: span(l.period_start, l.period_end) }) : null]),
          td(number(l.quantity), "num"),
          td(money(l.unit_amount, inv.currency, true), "num hide-narrow"),
          td(money(l.amount, inv.currency), "num"))), t("bills.lines")),
      h("div", { class: "cards" },
        card(t("bills.subtotal"), money(inv.subtotal, inv.currency)),
        (inv.discounts || []).map((d) => card(tNodes("bills.discount_named", { name: dataText(d.name) }),
          h("span", { "data-test": "invoice-discount", text: `−${money(d.amount, inv.currency)}` }))),
        (inv.tax_amounts || []).map((tax) => card(taxLabel(tax),
          h("span", { "data-test": "tax-amount", text: money(tax.amount, inv.currency) }))),
        Number(inv.amount_credited) > 0
          ? card(t("bills.credited"), h("span", { "data-test": "amount-credited", text: money(inv.amount_credited, inv.currency) }))
          : null,
        card(t("bills.paid"), money(inv.amount_paid, inv.currency))),
      notes.length ? h("h2", { text: t("bills.credit_notes") }) : null,
      notes.length
        ? table([["bills.number"], ["bills.issued", "hide-narrow"], ["bills.credited", "num"], ["bills.how"], ["bills.pdf"]],
          notes.map((n) => h("tr", { "data-test": "credit-note" },
            td(dataText(n.number)),
            td(date(n.created_at), "hide-narrow"),
            td(money(n.total, inv.currency), "num"),
            td(n.status === "voided" ? t("credit_note.void") : term("refund_to", n.refund_to)),
            td(actionButton(t("common.download"), () => downloadPdf(`/credit_notes/${encodeURIComponent(n.id)}/pdf`, n.number),
              "secondary", "credit-note-pdf")))), t("bills.credit_notes"))
        : null);
  }

  /** Downloads a PDF the API serves under the session, named `name`.pdf. */
  async function downloadPdf(path, name) {
    return download(path, `${name}.pdf`);
  }

  /** Downloads a file the API serves under the session (the token is a header, so a plain
   * link cannot): saved as `filename`. */
  async function download(path, filename) {
    const blob = await api("GET", path);
    const url = URL.createObjectURL(blob);
    const a = h("a", { href: url, download: filename });
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
    const parts = [h("h1", { text: t("screen.entitlements") })];
    if (!list.data.length) parts.push(h("p", { class: "muted", text: t("entitlements.none") }));
    for (const e of list.data) {
      const id = `ent-${e.feature}`;
      const limited = e.limit !== null && e.limit !== undefined;
      parts.push(h("div", { class: "card entitlement", "data-test": "entitlement", "data-feature": e.feature },
        h("div", { class: "label", id, translate: "no", text: e.feature }),
        h("div", { class: "big", "data-test": "entitlement-used",
          text: limited ? t("entitlements.used_of", { used: number(e.used), limit: number(e.limit) })
            : t("entitlements.used_unlimited", { used: number(e.used) }) }),
        limited ? h("meter", { "aria-labelledby": id, min: "0", max: e.limit, value: e.used,
          high: e.limit, optimum: "0", "data-test": "entitlement-bar" }) : null,
        h("p", { class: "muted" },
          limited ? t("entitlements.percent_used", { percent: number(e.usage_percent) }) : "",
          limited ? ` · ${e.soft ? t("entitlements.soft") : t("entitlements.hard")}` : "",
          limited ? h("br", {}) : null,
          t("entitlements.resets", { date: date(e.resets_at) }))));
    }
    show(...parts);
  }

  // ---- Usage --------------------------------------------------------------------------------

  async function usage(win) {
    const windowName = ["1d", "7d", "30d"].includes(win) ? win : "7d";
    const u = await api("GET", `/usage${query({ window: windowName })}`);
    const switcher = h("div", { class: "segmented", role: "group", "aria-label": t("usage.window") },
      ["1d", "7d", "30d"].map((w) =>
        h("button", {
          type: "button", "aria-pressed": String(w === windowName), "data-window": w, text: t(`usage.window_${w}`),
          onclick: () => { location.hash = `#/usage/${w}`; },
        })));
    const charts = h("div", { "data-test": "usage-charts", "data-window": windowName });
    const csv = actionButton(t("common.download_csv"), () => download(`/usage/export${query({ window: windowName })}`, `usage-${windowName}.csv`), "secondary", "usage-csv");
    show(h("h1", { text: t("screen.usage") }), h("div", { class: "toolbar" }, switcher, csv),
      h("p", { class: "muted", text: t(`usage.range_by_${u.granularity}`, { range: span(u.from, u.to, true) }) }),
      charts, h("h2", { text: t("usage.breakdown") }), breakdownTable(u));
    drawUsage(charts, u);
  }

  function breakdownTable(u) {
    return table([["usage.feature"], ["screen.usage", "num"], ["usage.events", "num hide-narrow"], ["usage.cost", "num"]],
      (u.breakdown || []).map((b) => h("tr", { "data-test": "breakdown" },
        td(dataText(b.name || b.feature)),
        td([number(b.total_usage), b.unit ? [" ", dataText(b.unit)] : ""], "num"),
        td(number(b.events), "num hide-narrow"),
        td(b.total_cost === null || b.total_cost === undefined ? "—" : money(b.total_cost, b.currency), "num"))),
      t("usage.by_feature"));
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
      const id = `chart-${s.feature}`;
      const box = h("figure", { class: "chart", "aria-labelledby": id, "aria-describedby": `${id}-note` },
        h("h3", { id }, dataText(name), " (", s.unit ? dataText(s.unit) : t("usage.units"), ")"),
        h("p", { class: "visually-hidden", id: `${id}-note`, text: t("usage.chart_note") }));
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
        axes: [{ values: (_, ticks) => ticks.map((x) => axisDate(x, u.granularity)) }, { values: (_, ticks) => ticks.map((x) => number(x)) }],
      }, [xs, ys], box);
      new ResizeObserver(() => plot.setSize({ width: width(), height: 200 })).observe(box);
    }
  }

  /** A chart's time tick in the portal's language (uPlot's own ticks are English). */
  function axisDate(seconds, granularity) {
    const opts = granularity === "hour" ? { hour: "numeric", minute: "2-digit" } : { month: "short", day: "numeric" };
    try {
      return new Intl.DateTimeFormat(locale, { ...opts, timeZone: customer?.timezone || undefined }).format(new Date(seconds * 1000));
    } catch {
      return new Intl.DateTimeFormat(locale, opts).format(new Date(seconds * 1000));
    }
  }

  // ---- Alerts -------------------------------------------------------------------------------

  /** What an alert watches, in words. */
  function alertTerms(a) {
    if (a.type === "usage") return tNodes("alerts.usage_terms", { feature: dataText(a.feature) }, { threshold: number(a.threshold) });
    if (a.type === "spend") return t("alerts.spend_terms", { amount: money(a.threshold, a.currency) });
    return a.currency
      ? t("alerts.balance_terms_in", { currency: a.currency, threshold: number(a.threshold) })
      : t("alerts.balance_terms", { threshold: number(a.threshold) });
  }

  /** The customer's alerts on usage, spend and credit balance; set and removed with
   * `alerts_manage`. Features to choose from: those of the plans and of recent usage. */
  async function alerts() {
    const [list, ents, recent] = await Promise.all([
      api("GET", "/alerts"),
      enabled("subscriptions") ? api("GET", "/entitlements").catch(orNull) : null,
      api("GET", "/usage?window=30d").catch(orNull),
    ]);
    const manage = may("alerts_manage");
    const parts = [h("h1", { text: t("screen.alerts") }), h("p", { class: "muted", text: t("alerts.intro") })];
    if (!list.data.length) parts.push(h("p", { class: "muted", "data-test": "no-alerts", text: t("alerts.none") }));
    parts.push(h("div", { class: "cards" }, list.data.map((a) => h("div", { class: "card", "data-test": "alert", "data-id": a.id },
      h("div", { class: "label", text: t(`alert_type.${a.type}`) }),
      h("div", { class: "big" }, alertTerms(a)),
      h("p", { class: "muted", text: a.triggered_at ? t("alerts.last_triggered", { date: date(a.triggered_at, true) }) : t("alerts.not_triggered") }),
      manage ? h("div", { class: "actions" }, actionButton(t("alerts.remove"), async () => {
        await api("DELETE", `/alerts/${encodeURIComponent(a.id)}`);
        await alerts();
      }, "secondary", "remove-alert")) : null))));
    if (manage) {
      const features = new Map();
      for (const e of ents?.data || []) features.set(e.feature, e.feature);
      for (const b of recent?.breakdown || []) features.set(b.feature, b.name || b.feature);
      parts.push(h("h2", { text: t("alerts.add") }), alertForm([...features], alerts));
    }
    show(...parts);
  }

  function alertForm(features, done) {
    const type = h("select", { name: "type", id: "alert-type", "data-test": "alert-type" },
      ["usage", "spend", "credit_balance"].map((v) => h("option", { value: v, text: t(`alert_type.${v}`) })));
    const feature = h("select", { name: "feature", id: "alert-feature", "data-test": "alert-feature" },
      features.map(([key, name]) => h("option", { value: key, translate: "no", text: name })));
    const currency = h("input", { name: "currency", id: "alert-currency", maxlength: "3", autocomplete: "off", "data-test": "alert-currency" });
    const threshold = h("input", { name: "threshold", id: "alert-threshold", inputmode: "decimal", required: true, "data-test": "alert-threshold" });
    const featureField = h("label", { for: "alert-feature" }, t("usage.feature"), feature);
    const currencyField = h("label", { for: "alert-currency" }, t("alerts.currency"), currency);
    const status = h("div", {});
    const fit = () => {
      featureField.hidden = type.value !== "usage";
      currencyField.hidden = type.value === "usage";
    };
    type.addEventListener("change", fit);
    fit();
    const form = h("form", { class: "profile", "aria-label": t("alerts.add") },
      h("label", { for: "alert-type" }, t("common.type"), type), featureField, currencyField,
      h("label", { for: "alert-threshold" }, t("alerts.threshold"), threshold),
      h("div", { class: "actions" }, h("button", { type: "submit", "data-test": "create-alert", text: t("alerts.create") })));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const body = { type: type.value, threshold: threshold.value.trim() };
      if (type.value === "usage") body.feature = feature.value;
      else if (currency.value.trim()) body.currency = currency.value.trim().toUpperCase();
      try {
        await api("POST", "/alerts", body);
        await done();
        main.prepend(h("div", { class: "notice", role: "status", text: t("alerts.created") }));
      } catch (err) {
        if (!ending) fieldErrors(form, status, err);
      }
    });
    return h("div", {}, form, status);
  }

  // ---- Licenses -----------------------------------------------------------------------------

  async function licenses() {
    const list = await api("GET", "/license_keys");
    const manage = may("license_manage");
    const parts = [h("h1", { text: t("screen.licenses") }), h("p", { class: "muted", text: t("licenses.intro") })];
    if (!list.data.length) parts.push(h("p", { class: "muted", "data-test": "no-licenses", text: t("licenses.none") }));
    for (const k of list.data) parts.push(licenseCard(k, manage));
    show(...parts);
  }

  /** One key: the key to copy, its status and terms, and its activations. */
  function licenseCard(k, manage) {
    const tone = k.status === "active" ? "good" : k.status === "disabled" ? "bad" : "";
    const key = h("code", { class: "license-key", "data-test": "license-key", translate: "no", dir: "ltr", text: k.key });
    const copied = h("span", { class: "muted", role: "status", "data-test": "copy-status" });
    const copy = h("button", { type: "button", class: "secondary", "data-test": "copy-key", text: t("licenses.copy") });
    copy.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(k.key);
        copied.textContent = t("licenses.copied");
      } catch {
        // No clipboard here (an insecure page, a refused permission): select it for the keyboard.
        getSelection().selectAllChildren(key);
        copied.textContent = t("licenses.select_to_copy");
      }
    });
    const used = number(k.activation_count);
    const terms = k.activation_limit === null
      ? t("licenses.activations_unlimited", { used })
      : t("licenses.activations_of", { used, limit: number(k.activation_limit) });
    const expiry = k.expires_at
      ? t(k.status === "expired" ? "licenses.expired_on" : "licenses.expires", { date: date(k.expires_at) })
      : t(k.expires_with_subscription ? "licenses.with_subscription" : "licenses.never_expires");
    const rows = k.activations.map((a) => h("tr", { "data-test": "activation", "data-id": a.id },
      td(dataText(a.label)),
      td(date(a.created_at, true), "hide-narrow"),
      td(a.deactivated_at ? t("licenses.deactivated_on", { date: date(a.deactivated_at, true) }) : t("licenses.in_use")),
      td(manage && !a.deactivated_at ? actionButton(t("licenses.deactivate"), async () => {
        await api("POST", `/license_keys/${encodeURIComponent(k.id)}/activations/${encodeURIComponent(a.id)}/deactivate`);
        await licenses();
        main.prepend(h("div", { class: "notice", role: "status", text: t("licenses.deactivated") }));
      }, "secondary", "deactivate-activation") : "")));
    return h("section", { class: "card", "data-test": "license", "data-id": k.id, "aria-label": t("licenses.key_label") },
      h("div", { class: "label", text: t("licenses.key_label") }),
      h("div", { class: "big" }, key),
      h("div", { class: "actions" }, copy, " ", copied),
      h("p", {}, badge("license_status", k.status, tone), " ", h("span", { "data-test": "license-terms", text: terms })),
      h("p", { class: "muted", text: expiry }),
      table([["licenses.device"], ["licenses.activated", "hide-narrow"], ["common.status"], ["licenses.action"]], rows, t("licenses.key_label")));
  }

  // ---- Subscriptions and plans --------------------------------------------------------------

  function priceOf(p) {
    return t(`price.every_${p.interval}`, { count: p.interval_count, price: money(p.amount, p.currency), n: number(p.interval_count) });
  }

  async function subscriptions() {
    const [subs, plans] = await Promise.all([api("GET", "/subscriptions"), api("GET", "/plans").catch((err) => orNull(err) || { data: [] })]);
    const upcoming = await Promise.all(subs.data.map((s) =>
      !["active", "trialing", "past_due"].includes(s.status) || s.cancel_at_period_end
        ? null
        : api("GET", `/subscriptions/${encodeURIComponent(s.id)}/upcoming_invoice`).catch(orNull)));
    const parts = [h("h1", { text: t("screen.subscriptions") })];
    if (!subs.data.length) parts.push(h("p", { class: "muted", text: t("subscriptions.none") }));
    subs.data.forEach((s, i) => parts.push(subscriptionCard(s, plans.data, upcoming[i])));
    parts.push(h("h2", { text: t("screen.plans") }), plansTable(plans.data));
    show(...parts);
  }

  /** The estimated next charge: the upcoming invoice's lines and total as they stand now. */
  function upcomingInvoice(u) {
    return h("section", { class: "upcoming", "data-test": "upcoming-invoice", "aria-label": t("upcoming.title") },
      h("h3", { text: t("upcoming.heading", { date: date(u.billing_at) }) }),
      table([["upcoming.item"], ["common.quantity", "num hide-narrow"], ["common.amount", "num"]],
        u.lines.map((l) => h("tr", { "data-test": "upcoming-line" },
          td([dataText(l.description), l.period_start ? h("div", { class: "muted", text: span(l.period_start, l.period_end) }) : null]),
          td(number(l.quantity), "num hide-narrow"),
          td(money(l.amount, u.currency), "num"))), t("upcoming.title")),
      (u.discounts || []).map((d) => h("p", { class: "muted", "data-test": "upcoming-discount" },
        tNodes("upcoming.discount", { name: dataText(d.name) }, { amount: `−${money(d.amount, u.currency)}` }))),
      (u.tax_amounts || []).map((tax) => h("p", { class: "muted", "data-test": "upcoming-tax" },
        taxLabel(tax), `: ${money(tax.amount, u.currency)}`)),
      h("p", { class: "total" }, tNodes("upcoming.total", { amount: h("strong", { "data-test": "upcoming-total", text: money(u.total, u.currency) }) })),
      h("p", { class: "muted", text: t("upcoming.usage_note") }));
  }

  function subscriptionCard(s, plans, upcoming) {
    const live = ["active", "trialing", "past_due"].includes(s.status);
    const tone = s.status === "active" || s.status === "trialing" ? "good" : s.status === "past_due" ? "bad" : "";
    const el = h("div", { class: "card", "data-test": "subscription", "data-id": s.id },
      h("div", { class: "label", text: t("subscriptions.plan") }),
      h("div", { class: "big", "data-test": "plan-name", translate: "no", text: s.plan_name }),
      h("div", {}, badge("subscription_status", s.status, tone), s.cancel_at_period_end ? [" ", h("span", { class: "badge warn", text: t("subscriptions.cancels_at_period_end") })] : ""),
      h("p", { class: "muted" },
        t("subscriptions.current_period", { range: span(s.current_period_start, s.current_period_end) }),
        h("br", {}),
        s.cancel_at_period_end ? t("subscriptions.ends", { date: date(s.current_period_end) })
          : live ? t("subscriptions.next_bill", { date: date(s.next_billing_at || s.current_period_end) }) : "",
        s.pending_plan_id ? [h("br", {}), ...tNodes("subscriptions.changes_to", { plan: dataText(s.pending_plan_name) })] : ""),
      h("p", { "data-test": "seats" }, t("subscriptions.seats", { count: s.quantity, n: number(s.quantity) }),
        s.pending_quantity ? t("subscriptions.seats_next", { count: s.pending_quantity, n: number(s.pending_quantity) }) : ""),
      s.discount ? h("p", { "data-test": "discount" }, h("span", { class: "badge good", translate: "no", text: s.discount.name }), " ", discountTerms(s.discount)) : null,
      upcoming ? upcomingInvoice(upcoming) : null);
    const actions = h("div", { class: "actions" });
    const rerender = async () => subscriptions();
    if (live && may("subscription_cancel")) {
      if (s.cancel_at_period_end) {
        actions.append(actionButton(t("subscriptions.keep"), async () => {
          await api("POST", `/subscriptions/${encodeURIComponent(s.id)}/uncancel`, {});
          await rerender();
        }, "secondary", "uncancel"));
      } else {
        const now = session.permissions.subscription_cancel.mode === "immediately";
        const cancel = h("button", { type: "button", class: "secondary", "data-test": "cancel", text: t("subscriptions.cancel") });
        cancel.addEventListener("click", () => {
          // Why, optionally: the confirmation stays one click away whatever is chosen.
          const reasonId = `cancel-reason-${s.id}`;
          const commentId = `cancel-comment-${s.id}`;
          const reason = h("select", { id: reasonId, "data-test": "cancel-reason" },
            h("option", { value: "", text: t("cancel.choose") }),
            CANCEL_REASONS.map((value) => h("option", { value, text: t(`cancel_reason.${value}`) })));
          const comment = h("textarea", { id: commentId, "data-test": "cancel-comment", maxlength: "1000", rows: "2" });
          // The merchant's offer, if any, sits beside the confirmation: never a step before it.
          const offer = h("div", { "data-test": "retention-slot" });
          cancel.replaceWith(h("div", { class: "cancel-flow" },
            h("p", { text: now ? t("cancel.now") : t("cancel.at_end", { date: date(s.current_period_end) }) }),
            h("label", { for: reasonId, text: t("cancel.why") }), reason,
            h("label", { for: commentId, text: t("cancel.comment") }), comment,
            offer,
            h("div", { class: "actions" },
              actionButton(t("cancel.confirm"), async () => {
                const body = { at: now ? "immediately" : "period_end" };
                if (reason.value) body.reason = reason.value;
                if (comment.value.trim()) body.comment = comment.value.trim();
                await api("POST", `/subscriptions/${encodeURIComponent(s.id)}/cancel`, body);
                await rerender();
              }, "danger", "confirm-cancel"))));
          api("GET", `/subscriptions/${encodeURIComponent(s.id)}/retention_offer`).then(({ offer: o }) => {
            if (!o) return;
            offer.replaceChildren(h("div", { class: "offer", "data-test": "retention-offer", role: "note" },
              h("strong", {}, tNodes("cancel.offer", { name: dataText(o.name) })), " ", discountTerms(o),
              h("div", { class: "actions" }, actionButton(t("cancel.accept_offer"), async () => {
                await api("POST", `/subscriptions/${encodeURIComponent(s.id)}/retention_offer/accept`, {});
                await rerender();
              }, "secondary", "accept-offer"))));
          }).catch(() => {});
        });
        actions.append(cancel);
      }
    }
    if (live && may("plan_change")) {
      // Only plans the subscription can move to: another self-serve plan in the currency it is
      // billed in ("Contact us" plans are sold by the merchant).
      const choices = plans.filter((p) => p.id !== s.plan_id && p.currency === s.currency && p.purchase !== "contact_sales");
      if (choices.length) {
        // An option holds text only: the plan's name (data) leads, with its price.
        const select = h("select", { "aria-label": t("change.new_plan"), "data-test": "new-plan" },
          choices.map((p) => h("option", { value: p.code, translate: "no", text: `${p.name} – ${priceOf(p)}` })));
        const preview = h("div", {});
        const nameOf = (code) => choices.find((p) => p.code === code)?.name || code;
        actions.append(select, actionButton(t("change.preview"), async () => {
          const p = await api("POST", `/subscriptions/${encodeURIComponent(s.id)}/change/preview`, { plan: select.value });
          preview.replaceChildren(h("p", {},
            tNodes(p.upgrade ? "change.upgrade_to" : "change.change_to",
              { plan: dataText(nameOf(p.plan_code)), amount: h("strong", { text: money(p.net, p.currency) }) },
              { date: date(p.effective_at) })),
          actionButton(t("change.confirm"), async () => {
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
    const off = d.percent_off ? `${number(d.percent_off)}%` : money(d.amount_off, d.currency);
    const left = d.periods_left ?? d.duration_in_periods;
    if (d.duration === "forever") return t("discount.forever", { off });
    if (d.duration === "once") return t("discount.once", { off });
    return t("discount.invoices", { off, count: left, n: number(left) });
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
      h("label", { for: inputId, text: t("seats.label") }), input,
      actionButton(t("seats.preview"), async () => {
        const p = await api("POST", `/subscriptions/${encodeURIComponent(s.id)}/change/preview`, body());
        result.replaceChildren(h("p", {},
          tNodes("seats.effective", { amount: h("strong", { "data-test": "seats-total", text: money(p.total, p.currency) }) },
            { count: p.quantity, n: number(p.quantity), date: date(p.effective_at) })),
        actionButton(t("seats.confirm"), async () => {
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
      h("label", { for: inputId, text: t("promotion.label") }), input,
      actionButton(t("promotion.apply"), async () => {
        try {
          await api("POST", `/subscriptions/${encodeURIComponent(s.id)}/discount`, { promotion_code: input.value.trim() });
        } catch (err) {
          const why = err?.problem?.errors?.[0]?.message;
          if (why) throw new Error(t("promotion.refused", { why }));
          throw err;
        }
        await rerender();
      }, "secondary", "apply-code"));
  }

  /** A plan's price; a "Contact us" plan without a fixed fee is "Custom". */
  function planPrice(p) {
    if (p.purchase === "contact_sales" && Number(p.amount) === 0) return t("plans.custom");
    return p.discount ? [h("s", { text: priceOf(p) }), h("div", { "data-test": "plan-discounted" },
      tNodes("plans.discounted", { name: dataText(p.discount.name) }, { amount: money(p.discount.amount, p.currency) }))] : priceOf(p);
  }

  function plansTable(plans) {
    return table([["subscriptions.plan"], ["plans.price", "num"], ["plans.trial", "num hide-narrow"]],
      plans.map((p) => h("tr", { "data-test": "plan", "data-code": p.code },
        td([dataText(p.name), p.description ? h("div", { class: "muted", translate: "no", text: p.description }) : null,
          p.purchase === "contact_sales" && /^https:\/\//i.test(p.contact_url || "")
            ? h("div", {}, h("a", { class: "link", href: p.contact_url, rel: "noopener", target: "_blank", "data-test": "contact-sales", text: t("plans.contact_us") }))
            : null]),
        td(planPrice(p), "num"),
        td(p.trial_days ? t("plans.trial_days", { count: p.trial_days, n: number(p.trial_days) }) : "—", "num hide-narrow"))), t("screen.plans"));
  }

  async function plansOnly() {
    const plans = await api("GET", "/plans");
    show(h("h1", { text: t("screen.plans") }), plansTable(plans.data));
  }

  // ---- Payment methods ----------------------------------------------------------------------

  async function paymentMethods() {
    const methods = (await api("GET", "/payment_methods")).data;
    const manage = may("payment_method_manage");
    const parts = [h("h1", { text: t("screen.payment-methods") })];
    if (!methods.length) parts.push(h("p", { class: "muted", text: t("methods.none") }));
    const cards = methods.map((m) => {
      const title = m.type === "card"
        ? [m.brand ? dataText(m.brand) : t("method_type.card"), ` •••• ${m.last4 || ""}`]
        : [m.bank_name ? dataText(m.bank_name) : term("method_type", m.type), m.last4 ? ` •••• ${m.last4}` : ""];
      const actions = h("div", { class: "actions" });
      if (manage && m.status === "active" && !m.is_default) {
        actions.append(actionButton(t("methods.make_default"), async () => {
          await api("POST", `/payment_methods/${encodeURIComponent(m.id)}/default`, {});
          await paymentMethods();
        }, "secondary", "make-default"));
      }
      if (manage && m.status !== "detached") {
        actions.append(actionButton(t("methods.remove"), async () => {
          await api("DELETE", `/payment_methods/${encodeURIComponent(m.id)}`);
          await paymentMethods();
        }, "secondary", "remove"));
      }
      return h("div", { class: "card", "data-test": "payment-method", "data-id": m.id },
        h("div", { class: "big" }, title),
        h("div", {}, m.is_default ? h("span", { class: "badge good", text: t("methods.default") }) : "", " ", badge("method_status", m.status, m.status === "active" ? "" : "bad")),
        m.exp_month ? h("p", { class: "muted", text: t("methods.expires", { date: `${String(m.exp_month).padStart(2, "0")}/${m.exp_year}` }) }) : null,
        actions);
    });
    parts.push(h("div", { class: "cards" }, cards));
    if (manage) {
      parts.push(h("div", { class: "actions" }, actionButton(t("methods.add"), async () => {
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
    const parts = [h("h1", { text: t("screen.activity") }), h("div", { class: "table-wrap" }, h("table", {},
      head([["activity.when"], ["activity.what"], ["common.amount", "num"]]),
      rows)), more];
    let payments = null;
    if (enabled("payments")) {
      payments = await api("GET", "/payments?limit=20").catch(orNull);
    }
    if (payments) {
      parts.push(h("h2", { text: t("activity.payments") }), table([["common.date"], ["activity.method"], ["common.status"], ["common.amount", "num"]],
        payments.data.map((p) => h("tr", { "data-test": "payment" },
          td(when(p.created_at)),
          td(term("payment_method", p.method)),
          td(badge("payment_state", p.status, p.status === "succeeded" ? "good" : p.status === "failed" ? "bad" : "warn")),
          td([money(p.amount, p.currency), Number(p.amount_refunded) > 0 ? h("div", { class: "muted", text: t("activity.refunded", { amount: money(p.amount_refunded, p.currency) }) }) : null], "num"))),
        t("activity.payments")));
    }
    show(...parts);
    const load = async (cursor) => {
      const page = await api("GET", `/activity${query({ limit: 20, cursor })}`);
      if (!cursor && page.data.length === 0) rows.append(h("tr", {}, h("td", { colspan: 3, class: "muted", text: t("activity.none") })));
      for (const a of page.data) {
        rows.append(h("tr", { "data-test": "activity" },
          td(when(a.occurred_at)),
          td([h("div", {}, term("activity_kind", a.kind), a.status && a.status !== "success" ? [" ", badge("activity_status", a.status, "bad")] : ""),
            a.description ? h("div", { class: "muted", translate: "no", text: a.description }) : null]),
          td(a.amount ? money(a.amount, a.currency) : "", "num")));
      }
      more.replaceChildren(page.has_more ? actionButton(t("common.show_more"), () => load(page.next_cursor), "secondary") : "");
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
    const field = (name, value, type) => h("label", {}, t(`profile.${name}`),
      h("input", { name, type: type || "text", value: value ?? "", disabled: !allowed.includes(name.split(".")[0]) }));
    const form = h("form", { class: "profile", "aria-label": t("screen.profile") },
      field("name", c.name),
      field("email", c.email, "email"),
      field("phone", c.phone, "tel"),
      field("timezone", c.timezone),
      field("locale", c.locale),
      field("address.line1", a.line1),
      field("address.line2", a.line2),
      field("address.postal_code", a.postal_code),
      field("address.city", a.city),
      field("address.state", a.state),
      field("address.country", a.country),
      field("billing.legal_name", b.legal_name),
      field("billing.tax_id", b.tax_id),
      field("billing.email", b.email, "email"),
      h("label", { class: "check" },
        h("input", { name: "auto_pay", type: "checkbox", checked: c.auto_pay, disabled: !allowed.includes("auto_pay") }),
        t("profile.auto_pay")));
    const status = h("div", {});
    const parts = [h("h1", { text: t("screen.profile") }), form, status];
    if (allowed.length) {
      form.append(h("div", { class: "actions" }, h("button", { type: "submit", "data-test": "save-profile", text: t("common.save") })));
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
          const before = lang;
          customer = await api("PATCH", "/customer", patch);
          // A new language shows at once: the frame and this screen again, in it.
          await useLanguage(customer.locale);
          if (lang !== before) {
            chrome(lastBranding);
            await profile();
            main.prepend(h("div", { class: "notice", role: "status", text: t("common.saved") }));
            return;
          }
          fieldErrors(form, status, null);
          status.replaceChildren(h("div", { class: "notice", role: "status", text: t("common.saved") }));
        } catch (err) {
          if (!ending) fieldErrors(form, status, err);
        } finally {
          button.disabled = false;
        }
      });
    } else {
      parts.splice(1, 0, h("p", { class: "muted", text: t("profile.contact_merchant") }));
    }
    show(...parts);
  }

  start().catch((err) => {
    if (!ending && !(err instanceof Stale)) show(alertBox(err));
  });
})();
