// VoiceAppoint dashboard — calls: the list with filters, and one call with its transcript, the timeline of
// the agent's tool calls, the appointment it booked and what it cost.
"use strict";

function duration(s) {
  if (s === null || s === undefined) return "—";
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.round(s % 60)).padStart(2, "0")}`;
}

route(/^\/b\/([^/]+)\/calls$/, async (slug, params) => {
  const b = await business(slug, true);
  const tz = b.timezone;
  const today = localDate(new Date(), tz);
  const from = params.get("from") || addDays(today, -6);
  const to = params.get("to") || today;
  const outcome = params.get("outcome") || "all";
  const caller = params.get("caller") || "";
  const filters = h("form", { id: "calls-filter", class: "filters" },
    field("From (date)", "from", { type: "date", value: from }),
    field("To (date)", "to", { type: "date", value: to }),
    field("Outcome", "outcome", { type: "select", value: outcome,
      options: [["all", "All calls"], ["booked", "Booked an appointment"], ["not_booked", "No booking"]] }),
    field("Caller number contains", "caller", { value: caller, inputmode: "tel" }),
    h("button", { type: "submit" }, "Filter"));
  onSubmit(filters, async (v) => {
    location.hash = `#/b/${slug}/calls?${new URLSearchParams(v)}`;
  });
  const q = `from=${encodeURIComponent(zoned(from, "00:00", tz).toISOString())}&to=${encodeURIComponent(zoned(addDays(to, 1), "00:00", tz).toISOString())}`;
  const { calls } = await api("GET", `/businesses/${slug}/calls?${q}`);
  const shown = calls.filter((c) => (outcome === "booked" ? c.appointment_id : outcome === "not_booked" ? !c.appointment_id : true)
    && (!caller || (c.caller || "").includes(caller)));
  const rows = shown.map((c) => h("tr", { class: "call-row", "data-id": c.id },
    h("td", {}, h("a", { href: `#/b/${slug}/calls/${encodeURIComponent(c.id)}` }, fmtDateTime(c.started_at, tz))),
    h("td", {}, c.caller || "unknown"), h("td", {}, c.status), h("td", {}, duration(c.duration_seconds)),
    h("td", {}, String(c.tool_calls)), h("td", {}, c.appointment_id ? "Booked" : "—"), h("td", {}, money(c.cost_micros))));
  page("Calls", zoneNote(tz), filters,
    shown.length ? table(["Started", "Caller", "Status", "Duration", "Tool calls", "Booking", "Cost"], rows, `${shown.length} calls`)
      : h("p", { class: "muted" }, "No calls in this range."));
});

route(/^\/b\/([^/]+)\/calls\/([^/]+)$/, async (slug, id) => {
  const b = await business(slug, true);
  const c = await api("GET", `/calls/${encodeURIComponent(id)}`);
  if (c.business.slug !== slug) { notFound("This call"); return; }
  const tz = b.timezone;
  const facts = [["Caller", c.caller || "unknown"], ["Status", c.status], ["Started", fmtDateTime(c.started_at, tz)],
    ["Ended", fmtDateTime(c.ended_at, tz)], ["Duration", duration(c.duration_seconds)], ["Ended because", c.ended_reason || "—"],
    ["Cost (provider)", money(c.cost_micros)], ["Tool calls", String(c.tool_calls)]];
  page(`Call from ${c.caller || "unknown caller"}`, zoneNote(tz),
    h("p", {}, h("a", { href: `#/b/${slug}/calls` }, "← All calls")),
    h("dl", { class: "facts" }, facts.map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, v)))),
    c.summary ? h("section", {}, h("h2", {}, "Summary"), h("p", { class: "summary" }, c.summary)) : null,
    await bookedSection(slug, c, tz),
    transcriptSection(c, tz),
    toolSection(c, tz));
});

async function bookedSection(slug, c, tz) {
  if (!c.appointment_id) return h("section", { id: "booked" }, h("h2", {}, "Booking"), h("p", {}, "This call booked nothing."));
  // The appointment is somewhere after the call; look from a day before it (or now) to 400 days on.
  const day = 86400000;
  const started = c.started_at ? Date.parse(c.started_at) : Date.now();
  const q = `from=${encodeURIComponent(new Date(Math.min(started, Date.now()) - day).toISOString())}`
    + `&to=${encodeURIComponent(new Date(Math.max(started, Date.now()) + 400 * day).toISOString())}`;
  let a = null;
  try {
    const [{ appointments }, { services }] = await Promise.all([api("GET", `/businesses/${slug}/appointments?${q}`),
      api("GET", `/businesses/${slug}/services?include_retired=true`)]);
    a = appointments.find((x) => x.id === c.appointment_id);
    if (a) a.service = services.find((s) => s.id === a.service_id);
  } catch (e) { /* shown below as the bare id */ }
  return h("section", { id: "booked" }, h("h2", {}, "Booking"),
    a ? h("p", { class: "booked" }, `${a.service ? a.service.name : "Appointment"} on ${fmtDateTime(a.start, tz)} for ${a.client ? a.client.name : "the caller"} (${a.status}). `,
      h("a", { href: `#/b/${slug}/calendar?date=${localDate(new Date(a.start), tz)}` }, "Show in calendar"))
      : h("p", { class: "booked" }, `Appointment ${c.appointment_id}.`));
}

function transcriptSection(c, tz) {
  let lines = c.transcript_lines.map((l) => h("li", { class: `line ${l.role}` },
    h("span", { class: "who" }, l.role === "user" || l.role === "customer" ? "Caller" : l.role === "assistant" || l.role === "bot" ? "Agent" : l.role),
    h("span", { class: "muted" }, ` ${fmtTime(l.at, tz)} `), h("span", { class: "text" }, l.text)));
  if (lines.length === 0 && c.transcript) {
    lines = c.transcript.split("\n").filter(Boolean).map((t) => h("li", { class: "line" }, h("span", { class: "text" }, t)));
  }
  return h("section", { id: "transcript" }, h("h2", {}, "Transcript"),
    lines.length ? h("ol", { class: "transcript" }, lines) : h("p", { class: "muted" }, "No transcript (yet)."));
}

function toolSection(c, tz) {
  const items = c.tool_invocations.map((t) => h("li", { class: `tool ${t.outcome}`, "data-tool": t.name },
    h("div", {}, h("strong", { class: "tool-name" }, t.name), ` at ${fmtTime(t.at, tz)} · ${t.outcome} · ${t.latency_ms} ms`),
    h("details", {}, h("summary", {}, "Arguments and result"),
      h("pre", {}, JSON.stringify(t.arguments, null, 2)), h("pre", {}, t.result))));
  return h("section", { id: "tools" }, h("h2", {}, "Tool calls"),
    items.length ? h("ol", { class: "timeline" }, items) : h("p", { class: "muted" }, "The agent called no tools."));
}
