// VoiceAppoint dashboard — core: the API client, the session, the hash router, DOM and time helpers.
// Every page is drawn from /api/v1; nothing is rendered with innerHTML, so names and transcripts are text.
"use strict";

const VA = {
  routes: [],
  cleanup: [],
  me: null,
  businesses: new Map(),
};

// ---------- DOM ----------

/** `h("p", {class: "x"}, "text", child)`: an element; strings become text nodes, null/false are skipped. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "value") el.value = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

let fieldSeq = 0;
/** A labelled form field. `opts.type` "select" takes `opts.options` [[value, label]]. */
function field(label, name, opts = {}) {
  const id = `f-${name}-${++fieldSeq}`;
  let input;
  if (opts.type === "select") {
    input = h("select", { id, name, required: opts.required },
      (opts.options || []).map(([v, l]) => h("option", { value: v, selected: String(v) === String(opts.value ?? "") }, l)));
  } else if (opts.type === "textarea") {
    input = h("textarea", { id, name, rows: opts.rows || 3 }, opts.value || "");
  } else {
    input = h("input", { id, name, type: opts.type || "text", value: opts.value ?? "", required: opts.required,
      placeholder: opts.placeholder, autocomplete: opts.autocomplete, min: opts.min, max: opts.max,
      step: opts.step, inputmode: opts.inputmode, checked: opts.checked });
  }
  if (opts.type === "checkbox") return h("div", { class: "field check" }, input, h("label", { for: id }, label));
  return h("div", { class: "field" }, h("label", { for: id }, label), input,
    opts.hint ? h("small", { class: "muted" }, opts.hint) : null);
}

function formValues(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name) continue;
    out[el.name] = el.type === "checkbox" ? el.checked : el.value.trim();
  }
  return out;
}

function main() { return document.getElementById("main"); }

/** Replaces the page: a heading (focused, so keyboard and screen-reader users land on it) and content. */
function page(title, ...content) {
  const m = main();
  m.replaceChildren(h("h1", { tabindex: "-1", id: "page-title" }, title), ...content);
  document.title = `${title} · VoiceAppoint`;
  document.getElementById("page-title").focus();
  return m;
}

/** A message box that says what went wrong in words (`role=alert` reads it out). */
function errorBox(err) {
  return h("div", { class: "error", role: "alert" }, describeError(err));
}

function describeError(err) {
  if (!(err instanceof ApiError)) return `Something went wrong: ${err && err.message ? err.message : err}`;
  const why = {
    401: "Your session has ended. Please log in again.",
    403: "Your role does not allow this.",
    404: "Not found.",
    409: "That conflicts with something that changed meanwhile.",
    422: "Please check what you entered.",
    429: "Too many requests; wait a moment and try again.",
    503: "The service is busy or a dependency is down; try again shortly.",
  }[err.status] || `The server answered ${err.status}.`;
  return err.message ? `${why} ${err.message}` : why;
}

/** Runs `fn` on submit with the button disabled; an API error is shown in the form. */
function onSubmit(form, fn) {
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const button = form.querySelector("button[type=submit]");
    form.querySelectorAll(".error").forEach((e) => e.remove());
    if (button) button.disabled = true;
    try {
      await fn(formValues(form));
    } catch (err) {
      form.append(errorBox(err));
    } finally {
      if (button) button.disabled = false;
    }
  });
  return form;
}

function table(headers, rows, caption) {
  return h("div", { class: "scroll" }, h("table", {},
    caption ? h("caption", {}, caption) : null,
    h("thead", {}, h("tr", {}, headers.map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows)));
}

// ---------- API ----------

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function token() { return localStorage.getItem("va.token"); }

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (token()) headers.Authorization = `Bearer ${token()}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let resp;
  try {
    resp = await fetch(`/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, "network", "The server cannot be reached; check your connection.");
  }
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = text; }
  if (!resp.ok) {
    if (resp.status === 401 && token()) { logout(); }
    throw new ApiError(resp.status, data && data.code, (data && data.message) || "");
  }
  return data;
}

/** A download of an authenticated URL (the CSV invoice): fetch with the token, then save the blob. */
async function download(path, filename) {
  const resp = await fetch(`/api/v1${path}`, { headers: { Authorization: `Bearer ${token()}` } });
  if (!resp.ok) {
    const data = await resp.json().catch(() => ({}));
    throw new ApiError(resp.status, data.code, data.message || "");
  }
  const url = URL.createObjectURL(await resp.blob());
  const a = h("a", { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// ---------- session and roles ----------

async function login(accessToken) {
  localStorage.setItem("va.token", accessToken);
  VA.me = null;
  await loadMe();
}

function logout() {
  localStorage.removeItem("va.token");
  VA.me = null;
  VA.businesses.clear();
  location.hash = "#/login";
}

async function loadMe() {
  if (!token()) return null;
  if (!VA.me) VA.me = await api("GET", "/auth/me");
  return VA.me;
}

function hasPlatformRole(role) { return !!VA.me && VA.me.platform_roles.includes(role); }

function roleIn(slug) {
  const m = VA.me && VA.me.businesses.find((b) => b.slug === slug);
  return m ? m.role : null;
}

/** The role matrix of domain::tenancy::role, mirrored to decide which controls to draw (the API still decides). */
function can(slug, permission) {
  const role = roleIn(slug);
  if (!role) return false;
  switch (permission) {
    case "catalog": return ["owner", "admin", "manager"].includes(role);
    case "business": case "billing": return ["owner", "admin"].includes(role);
    case "plan": return role === "owner";
    // Viewers may book through the API, but their dashboard is read-only by design.
    case "book": return role !== "viewer";
    default: return true;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The business (cached per page load); a 404 becomes the not-found page. Read models follow the event
 *  store by a moment, so a member's own business that is not there yet is asked for again briefly. */
async function business(slug, fresh) {
  if (fresh || !VA.businesses.has(slug)) {
    for (let attempt = 0; ; attempt++) {
      try {
        VA.businesses.set(slug, await api("GET", `/businesses/${encodeURIComponent(slug)}`));
        break;
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 404 && roleIn(slug) && attempt < 20)) throw err;
        await sleep(250);
      }
    }
  }
  return VA.businesses.get(slug);
}

/** Re-reads `/auth/me` until `ok(me)` holds (a new membership reaches the read model a moment later). */
async function waitForMe(ok) {
  for (let attempt = 0; attempt < 40; attempt++) {
    VA.me = await api("GET", "/auth/me");
    if (ok(VA.me)) return VA.me;
    await sleep(250);
  }
  return VA.me;
}

// ---------- time (always the business's zone, and said so) ----------

function fmt(iso, tz, opts) {
  if (!iso) return "—";
  return new Intl.DateTimeFormat("en-GB", { timeZone: tz, ...opts }).format(new Date(iso));
}
const fmtTime = (iso, tz) => fmt(iso, tz, { hour: "2-digit", minute: "2-digit" });
const fmtDateTime = (iso, tz) => fmt(iso, tz, { dateStyle: "medium", timeStyle: "short" });
const fmtDay = (iso, tz) => fmt(iso, tz, { weekday: "short", day: "numeric", month: "short" });

/** `YYYY-MM-DD` of an instant in `tz`. */
function localDate(date, tz) {
  return new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" }).format(date);
}

function localHour(iso, tz) {
  return Number(new Intl.DateTimeFormat("en-GB", { timeZone: tz, hour: "2-digit", hourCycle: "h23" }).format(new Date(iso)));
}

/** The offset of `tz` from UTC at `date`, in minutes. */
function tzOffset(date, tz) {
  const p = Object.fromEntries(new Intl.DateTimeFormat("en-US", { timeZone: tz, hourCycle: "h23", year: "numeric",
    month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" })
    .formatToParts(date).map((x) => [x.type, x.value]));
  const asUtc = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
  return Math.round((asUtc - date.getTime()) / 60000);
}

/** The instant of local `YYYY-MM-DD` `HH:MM` in `tz` (twice corrected, so DST edges land right). */
function zoned(dateStr, timeStr, tz) {
  const [y, mo, d] = dateStr.split("-").map(Number);
  const [hh, mm] = (timeStr || "00:00").split(":").map(Number);
  const guess = Date.UTC(y, mo - 1, d, hh, mm);
  let t = guess - tzOffset(new Date(guess), tz) * 60000;
  t = guess - tzOffset(new Date(t), tz) * 60000;
  return new Date(t);
}

function addDays(dateStr, n) {
  const [y, m, d] = dateStr.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

function zoneNote(tz) { return h("p", { class: "zone muted" }, `Times shown in ${tz} (the business's time zone).`); }

function money(micros) { return micros === null || micros === undefined ? "—" : `$${(micros / 1e6).toFixed(4)}`; }

// ---------- live feed ----------

/** Follows the business's live feed; `handlers` maps event types to functions of the parsed data. */
function liveFeed(slug, handlers, statusEl) {
  const es = new EventSource(`/api/v1/businesses/${encodeURIComponent(slug)}/live?access_token=${encodeURIComponent(token())}`);
  const say = (on, text) => { if (statusEl) { statusEl.dataset.live = on ? "on" : "off"; statusEl.textContent = text; } };
  say(false, "Connecting to live updates…");
  es.onopen = () => say(true, "Live updates on");
  es.onerror = () => say(false, "Live updates interrupted; reconnecting…");
  for (const [type, fn] of Object.entries(handlers)) {
    es.addEventListener(type, (ev) => { try { fn(JSON.parse(ev.data)); } catch (e) { console.error(e); } });
  }
  VA.cleanup.push(() => es.close());
  return es;
}

// ---------- router ----------

function route(pattern, render) { VA.routes.push([pattern, render]); }

/** A nav link, marked current on its page (and, unless `exact`, on the pages under it). */
function navLink(href, label, exact) {
  const [here] = location.hash.split("?");
  const current = here === href || (!exact && href !== "#/" && here.startsWith(`${href}/`)) ? "page" : null;
  return h("a", { href, "aria-current": current }, label);
}

function drawNav(slug) {
  const nav = document.getElementById("nav");
  if (!VA.me) {
    nav.replaceChildren(navLink("#/login", "Log in"), navLink("#/signup", "Sign up"));
    return;
  }
  const links = [];
  if (slug && roleIn(slug)) {
    const b = `#/b/${slug}`;
    links.push(navLink(b, "Dashboard", true), navLink(`${b}/calendar`, "Calendar"), navLink(`${b}/calls`, "Calls"),
      navLink(`${b}/settings`, "Settings"));
    if (can(slug, "billing")) links.push(navLink(`${b}/billing`, "Usage & invoices"));
  }
  const others = VA.me.businesses.filter((b) => b.slug !== slug);
  for (const b of others.slice(0, 3)) links.push(navLink(`#/b/${b.slug}`, b.name));
  if (hasPlatformRole("platform_admin")) links.push(navLink("#/admin/numbers", "Number pool"));
  if (hasPlatformRole("auditor")) links.push(navLink("#/audit", "Audit"));
  links.push(h("button", { type: "button", class: "link", onclick: logout }, `Log out (${VA.me.user.email})`));
  nav.replaceChildren(...links);
}

function notFound(what) {
  page("Not found", h("p", { class: "notfound", role: "alert" },
    `${what || "This page"} was not found. It does not exist, or it belongs to a business you are not a member of.`),
  h("p", {}, h("a", { href: "#/" }, "Back to the start")));
}

async function render() {
  VA.cleanup.splice(0).forEach((f) => f());
  const [path, query] = (location.hash.slice(1) || "/").split("?");
  const params = new URLSearchParams(query || "");
  try {
    await loadMe();
  } catch (err) {
    localStorage.removeItem("va.token");
    VA.me = null;
  }
  const slug = (path.match(/^\/b\/([^/]+)/) || [])[1];
  drawNav(slug && decodeURIComponent(slug));
  for (const [pattern, fn] of VA.routes) {
    const m = path.match(pattern);
    if (!m) continue;
    const isPublic = path === "/login" || path === "/signup";
    if (!isPublic && !VA.me) { location.hash = "#/login"; return; }
    try {
      await fn(...m.slice(1).map(decodeURIComponent), params);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) notFound();
      else page("Something went wrong", errorBox(err));
    }
    return;
  }
  notFound();
}

// ---------- sign up, log in, home ----------

const BUSINESS_TYPES = [["salon", "Hair salon"], ["barber", "Barber"], ["clinic", "Clinic"], ["dental", "Dental clinic"],
  ["spa", "Spa"], ["restaurant", "Restaurant"], ["other", "Other"]];

function timezoneOptions(current) {
  const zones = Intl.supportedValuesOf ? Intl.supportedValuesOf("timeZone") : ["UTC", "Europe/Madrid", "America/New_York"];
  if (!zones.includes(current)) zones.unshift(current);
  return { type: "select", options: zones.map((z) => [z, z]), value: current };
}

route(/^\/login$/, () => {
  const form = h("form", { id: "login-form" },
    field("Email", "email", { type: "email", required: true, autocomplete: "username" }),
    field("Password", "password", { type: "password", required: true, autocomplete: "current-password" }),
    h("button", { type: "submit" }, "Log in"));
  page("Log in", onSubmit(form, async (v) => {
    const t = await api("POST", "/auth/token", { email: v.email, password: v.password });
    await login(t.access_token);
    location.hash = "#/";
  }), h("p", {}, "New here? ", h("a", { href: "#/signup" }, "Create an account")));
});

route(/^\/signup$/, () => {
  const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const form = h("form", { id: "signup-form" },
    field("Email", "email", { type: "email", required: true, autocomplete: "username" }),
    field("Password", "password", { type: "password", required: true, autocomplete: "new-password", hint: "At least 8 characters." }),
    field("Business name", "name", { required: true }),
    field("Kind of business", "business_type", { type: "select", options: BUSINESS_TYPES, value: "salon" }),
    field("Time zone", "timezone", timezoneOptions(browserZone)),
    field("Currency", "currency", { type: "select", options: [["USD", "USD"], ["EUR", "EUR"], ["GBP", "GBP"]], value: "USD" }),
    h("button", { type: "submit" }, "Create account"));
  page("Sign up", onSubmit(form, async (v) => {
    const r = await api("POST", "/auth/register", { email: v.email, password: v.password,
      business: { name: v.name, business_type: v.business_type, timezone: v.timezone, currency: v.currency } });
    await login(r.access_token);
    await waitForMe((me) => me.businesses.some((b) => b.slug === r.business.slug));
    location.hash = `#/b/${r.business.slug}/onboarding/1`;
  }), h("p", {}, "Already registered? ", h("a", { href: "#/login" }, "Log in")));
});

route(/^\/$/, async () => {
  const me = VA.me;
  if (me.businesses.length > 0) {
    const b = await business(me.businesses[0].slug, true);
    // Only if the person is still here: they may have gone elsewhere while the business loaded.
    if (location.hash !== "#/" && location.hash !== "") return;
    location.hash = b.live || !can(b.slug, "business") ? `#/b/${b.slug}` : `#/b/${b.slug}/onboarding/1`;
  } else if (hasPlatformRole("platform_admin")) location.hash = "#/admin/numbers";
  else if (hasPlatformRole("auditor")) location.hash = "#/audit";
  else page("Welcome", h("p", {}, "You are not a member of any business yet."));
});

window.addEventListener("hashchange", render);
window.addEventListener("DOMContentLoaded", render);
