// VoiceAppoint dashboard — money and the platform: usage and invoices (view, download CSV, choose the plan),
// the platform admin's number pool, and the auditor's read-only call history.
"use strict";

route(/^\/b\/([^/]+)\/billing$/, async (slug, params) => {
  const b = await business(slug, true);
  const thisMonth = new Date().toISOString().slice(0, 7);
  const period = /^\d{4}-\d{2}$/.test(params.get("period") || "") ? params.get("period") : thisMonth;
  const [usage, invoice, { plans }] = await Promise.all([
    api("GET", `/businesses/${slug}/usage?period=${period}`),
    api("GET", `/businesses/${slug}/invoices/${period}`),
    api("GET", "/plans"),
  ]);
  const pick = h("form", { id: "period-pick", class: "filters" },
    field("Month", "period", { type: "month", value: period }), h("button", { type: "submit" }, "Show"));
  onSubmit(pick, async (v) => { location.hash = `#/b/${slug}/billing?period=${v.period}`; });
  const u = usage.usage;
  const figures = [["Plan", usage.plan || "—"], ["Status", usage.status], ["Calls", u.calls], ["Voice minutes", u.voice_minutes],
    ["Included minutes", u.included_minutes], ["Overage minutes", u.overage_minutes], ["Bookings", u.bookings],
    ["Total", `${usage.revenue} ${usage.currency}`]];
  const lines = (invoice.lines || []).map((l) => h("tr", {}, h("td", {}, l.description), h("td", {}, String(l.quantity)),
    h("td", {}, l.amount !== undefined ? l.amount : (l.amount_minor / 100).toFixed(2))));
  const csv = h("button", { type: "button", id: "invoice-csv", onclick: async () => {
    try { await download(`/businesses/${slug}/invoices/${period}?format=csv`, `invoice-${slug}-${period}.csv`); } catch (err) { csv.after(errorBox(err)); }
  } }, "Download CSV");
  page("Usage and invoices", h("p", { class: "muted" }, `${b.name}. Billing periods are calendar months in UTC; amounts in ${usage.currency}.`), pick,
    h("section", { id: "usage" }, h("h2", {}, `Usage in ${period}`),
      h("dl", { class: "facts" }, figures.map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, String(v)))))),
    h("section", { id: "invoice" }, h("h2", {}, `Invoice ${period} (${invoice.status || usage.status})`),
      lines.length ? table(["Line", "Quantity", `Amount (${usage.currency})`], lines) : h("p", { class: "muted" }, "No lines."), csv),
    planSection(slug, plans, usage.plan));
});

function planSection(slug, plans, current) {
  const rows = plans.map((p) => h("tr", { "data-plan": p.code }, h("td", {}, p.name), h("td", {}, (p.monthly_fee_minor / 100).toFixed(2)),
    h("td", {}, String(p.included_voice_minutes)), h("td", {}, (p.overage_per_minute_minor / 100).toFixed(2)),
    h("td", {}, p.code === current ? "current" : "")));
  const out = h("section", { id: "plans" }, h("h2", {}, "Plans"),
    table(["Plan", "Monthly fee", "Included minutes", "Per extra minute", ""], rows));
  if (can(slug, "plan")) {
    const form = h("form", { id: "plan-change", "data-edit": "plan" },
      field("Change plan to", "plan", { type: "select", options: plans.map((p) => [p.code, p.name]), value: current }),
      h("button", { type: "submit" }, "Change plan (from today)"));
    out.append(onSubmit(form, async (v) => {
      await api("PUT", `/businesses/${slug}/plan`, { plan: v.plan });
      setTimeout(render, 800);
    }));
  }
  return out;
}

route(/^\/admin\/numbers$/, async (params) => {
  if (!hasPlatformRole("platform_admin")) { notFound("The number pool"); return; }
  const area = params.get("area_code") || "";
  const { numbers } = await api("GET", `/phone-numbers/available${area ? `?area_code=${encodeURIComponent(area)}` : ""}`);
  const add = h("form", { id: "pool-add", "data-edit": "pool" }, h("h2", {}, "Add a number to the pool"),
    field("Number (E.164)", "number", { required: true, placeholder: "+14155550100", inputmode: "tel" }),
    field("Vapi phone number id", "provider_phone_number_id", { required: true }),
    field("Locality", "locality", { required: true, placeholder: "San Francisco" }),
    field("Region", "region", { required: true, placeholder: "CA" }),
    h("button", { type: "submit" }, "Add number"));
  onSubmit(add, async (v) => {
    await api("POST", "/admin/phone-numbers", v);
    add.reset();
    add.append(h("p", { role: "status", class: "ok" }, `${v.number} added; it shows below in a moment.`));
    setTimeout(render, 800);
  });
  const filter = h("form", { id: "pool-filter", class: "filters" }, field("Area code", "area_code", { value: area, inputmode: "numeric" }),
    h("button", { type: "submit" }, "Filter"));
  onSubmit(filter, async (v) => { location.hash = `#/admin/numbers?area_code=${encodeURIComponent(v.area_code)}`; });
  page("Number pool", add, h("h2", {}, "Free numbers"), filter,
    numbers.length ? table(["Number", "Area code", "Locality", "Region", "Status"], numbers.map((n) => h("tr", {},
      h("td", {}, n.number), h("td", {}, n.area_code), h("td", {}, n.locality), h("td", {}, n.region), h("td", {}, n.status))))
      : h("p", { class: "muted" }, "No free numbers."));
});

route(/^\/audit$/, async (params) => {
  if (!hasPlatformRole("auditor")) { notFound("The audit view"); return; }
  const v = { business: params.get("business") || "", from: params.get("from") || "", to: params.get("to") || "" };
  const q = new URLSearchParams(Object.entries(v).filter(([, x]) => x));
  const filter = h("form", { id: "audit-filter", class: "filters" },
    field("Business (slug)", "business", { value: v.business }),
    field("From (UTC date)", "from", { type: "date", value: v.from }),
    field("To (UTC date)", "to", { type: "date", value: v.to }),
    h("button", { type: "submit" }, "Show"));
  onSubmit(filter, async (f) => { location.hash = `#/audit?${new URLSearchParams(Object.entries(f).filter(([, x]) => x))}`; });
  const { calls } = await api("GET", `/audit/calls?${q}`);
  const items = calls.map((c) => h("li", { class: "audit-call", "data-id": c.call_id },
    h("details", {}, h("summary", {}, `${c.call_id} · ${c.business.slug || c.business.id} · first recorded ${fmtDateTime(c.first_recorded_at, "UTC")} UTC`),
      table(["#", "Event", "Recorded (UTC)", "Hash"], [...c.call_events, ...c.usage_events].map((e) => h("tr", {},
        h("td", {}, String(e.version)), h("td", {}, e.type), h("td", {}, fmtDateTime(e.recorded_at, "UTC")),
        h("td", { class: "hash" }, (e.hash || "").slice(0, 16))))))));
  page("Call history (read-only)", h("p", { class: "muted" }, "Every call's events as stored, with their hash-chain links. Nothing here can be changed."),
    filter, items.length ? h("ul", { class: "audit" }, items) : h("p", { class: "muted" }, "No calls."));
});
