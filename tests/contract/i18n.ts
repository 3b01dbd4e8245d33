// The hosted portal's message catalogues (api/portal/i18n/<language>.json, also read by the
// server for e-mails and PDFs), checked without a browser:
//   - every language has exactly English's keys, none empty;
//   - a plural message has exactly the CLDR plural categories of its language (Intl.PluralRules),
//     a plain one is plain; placeholders match English's (a plural form may leave the number out:
//     Arabic says "one seat" in words);
//   - no message is English's word for word, except the few that are the same word in that
//     language (listed below);
//   - every key app.js names exists, and every key is used by app.js or by the server.
// A screen that shows text outside the catalogue is caught in Chromium (portal.ts, in Arabic).
import { readFileSync, readdirSync } from "node:fs";

const dir = new URL("../../api/portal/i18n/", import.meta.url);
const app = readFileSync(new URL("../../api/portal/app.js", import.meta.url), "utf8");
const server = ["mail.rs", "pdf.rs", "i18n.rs"].map((f) => {
  try { return readFileSync(new URL(`../../api/src/${f}`, import.meta.url), "utf8"); } catch { return ""; }
}).join("\n");

type Message = string | Record<string, string>;
const load = (lang: string): Record<string, Message> => JSON.parse(readFileSync(new URL(`${lang}.json`, dir), "utf8"));
const languages = readdirSync(dir).filter((f) => f.endsWith(".json")).map((f) => f.replace(/\.json$/, "")).sort();
const en = load("en");

/** Words that are the same in the language (not left untranslated). */
const SAME: Record<string, string[]> = {
  de: ["credits.credits", "bills.pdf", "profile.name", "method_type.upi"],
  fr: ["common.date", "common.type", "credits.conversion", "bills.total", "bills.pdf", "method_type.upi"],
  es: ["bills.total", "bills.subtotal", "bills.pdf", "subscriptions.plan", "method_type.upi"],
  ar: [],
};

const failures: string[] = [];
const fail = (m: string) => failures.push(m);
const placeholders = (s: string) => new Set([...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!));
const forms = (m: Message) => (typeof m === "string" ? [m] : Object.values(m));

for (const lang of ["de", "fr", "es", "ar"]) {
  if (!languages.includes(lang)) fail(`${lang}: no catalogue`);
}
for (const lang of languages) {
  const cat = load(lang);
  const categories = new Intl.PluralRules(lang).resolvedOptions().pluralCategories.slice().sort();
  for (const key of Object.keys(en)) if (!(key in cat)) fail(`${lang}: missing ${key}`);
  for (const key of Object.keys(cat)) if (!(key in en)) fail(`${lang}: ${key} is not in en.json`);
  for (const [key, value] of Object.entries(cat)) {
    const base = en[key];
    if (base === undefined) continue;
    if (typeof value !== typeof base) {
      fail(`${lang}: ${key} is ${typeof base === "string" ? "plain" : "plural"} in English`);
      continue;
    }
    if (forms(value).some((f) => typeof f !== "string" || !f.trim())) fail(`${lang}: ${key} is empty`);
    const want = new Set(forms(base).flatMap((f) => [...placeholders(f)]));
    if (typeof value === "string") {
      const got = placeholders(value);
      if ([...want].some((p) => !got.has(p)) || [...got].some((p) => !want.has(p))) {
        fail(`${lang}: ${key} has placeholders {${[...got].join("}, {")}} where English has {${[...want].join("}, {")}}`);
      }
    } else {
      const have = Object.keys(value).sort();
      if (have.join() !== categories.join()) fail(`${lang}: ${key} has plural forms ${have} where ${lang} needs ${categories}`);
      for (const f of Object.values(value)) {
        for (const p of placeholders(f)) if (!want.has(p)) fail(`${lang}: ${key} has {${p}}, which English does not`);
      }
    }
    if (lang !== "en" && JSON.stringify(value) === JSON.stringify(base) && !SAME[lang]?.includes(key)) {
      fail(`${lang}: ${key} is English ("${forms(base)[0]}")`);
    }
  }
}

// Keys in app.js: literal ones must exist; prefixes of computed ones must exist.
const literal = new Set([...app.matchAll(/\b(?:t|tNodes)\("([\w.-]+)"/g), ...app.matchAll(/\["([a-z_]+\.[\w.-]+)"/g)].map((m) => m[1]!));
const prefixes = new Set([
  ...[...app.matchAll(/\b(?:t|tNodes)\(`([\w.-]+)\$\{/g)].map((m) => m[1]!),
  ...[...app.matchAll(/\b(?:term|badge)\("(\w+)"/g)].map((m) => `${m[1]!}.`),
  // The server's computed keys: format!("group.{}", value).
  ...[...server.matchAll(/"([a-z_]+(?:\.[a-z_]+)*)\.\{\}"/g)].map((m) => `${m[1]!}.`),
]);
for (const key of literal) if (!(key in en)) fail(`app.js uses ${key}, which en.json lacks`);
for (const prefix of prefixes) if (!Object.keys(en).some((k) => k.startsWith(prefix))) fail(`app.js uses ${prefix}…, which en.json lacks`);
for (const key of Object.keys(en)) {
  const used = literal.has(key) || app.includes(`"${key}"`) || [...prefixes].some((p) => key.startsWith(p)) || server.includes(`"${key}"`);
  if (!used) fail(`${key} is in the catalogues but nothing uses it`);
}

if (failures.length) {
  console.error(failures.join("\n"));
  process.exit(1);
}
console.log(`ok: ${languages.join(", ")} — ${Object.keys(en).length} messages each, plural forms per CLDR, every key used`);
