// VoiceAppoint dashboard — the calendar: a day or a week, one column per staff member. Appointments appear,
// move and disappear from the live feed as they happen (no reload); the list is re-read shortly after each
// change to fill in what events do not carry (the client's name).
"use strict";

route(/^\/b\/([^/]+)\/calendar$/, async (slug, params) => {
  const b = await business(slug, true);
  const tz = b.timezone;
  const date = /^\d{4}-\d{2}-\d{2}$/.test(params.get("date") || "") ? params.get("date") : localDate(new Date(), tz);
  const view = params.get("view") === "week" ? "week" : "day";
  const days = view === "week" ? 7 : 1;
  const [{ services }, { staff }] = await Promise.all([
    api("GET", `/businesses/${slug}/services?include_retired=true`),
    api("GET", `/businesses/${slug}/staff`),
  ]);
  const cal = {
    slug, tz, date, view, days, staff,
    services: new Map(services.map((s) => [s.id, s])),
    appts: new Map(),
    live: new Map(), // id -> time of the last live change (a re-read older than the projection must not undo it)
    from: zoned(date, "00:00", tz),
    to: zoned(addDays(date, days), "00:00", tz),
  };
  const grid = h("div", { id: "calendar", class: `cal ${view}` });
  const status = h("p", { class: "live-status", role: "status" });
  page("Calendar", navForm(slug, date, view), zoneNote(tz), status, grid);
  cal.grid = grid;
  await reload(cal);
  followFeed(cal, status);
});

function navForm(slug, date, view) {
  const go = (d, v) => { location.hash = `#/b/${slug}/calendar?date=${d}&view=${v}`; };
  const step = view === "week" ? 7 : 1;
  const form = h("form", { class: "calnav", id: "calendar-nav" },
    field("Date", "date", { type: "date", value: date }),
    field("View", "view", { type: "select", options: [["day", "Day"], ["week", "Week"]], value: view }),
    h("button", { type: "submit" }, "Show"),
    h("button", { type: "button", onclick: () => go(addDays(date, -step), view) }, "Previous"),
    h("button", { type: "button", onclick: () => go(addDays(date, step), view) }, "Next"));
  return onSubmit(form, async (v) => go(v.date || date, v.view));
}

async function reload(cal) {
  const q = `from=${encodeURIComponent(cal.from.toISOString())}&to=${encodeURIComponent(cal.to.toISOString())}`;
  const { appointments } = await api("GET", `/businesses/${cal.slug}/appointments?${q}`);
  const seen = new Set();
  const now = Date.now();
  for (const a of appointments) {
    seen.add(a.id);
    if (now - (cal.live.get(a.id) || 0) < 10000) {
      // Keep what the feed said; only borrow the client's name from the (possibly older) read model.
      const mine = cal.appts.get(a.id);
      if (mine && !mine.client) mine.client = a.client;
      continue;
    }
    if (a.status === "cancelled") cal.appts.delete(a.id);
    else cal.appts.set(a.id, a);
  }
  for (const id of [...cal.appts.keys()]) {
    if (!seen.has(id) && now - (cal.live.get(id) || 0) >= 10000) cal.appts.delete(id);
  }
  draw(cal);
}

function followFeed(cal, status) {
  let timers = [];
  const later = () => {
    timers.forEach(clearTimeout);
    timers = [1200, 4000].map((ms) => setTimeout(() => reload(cal).catch(() => {}), ms));
  };
  VA.cleanup.push(() => timers.forEach(clearTimeout));
  const idOf = (ev) => ev.stream_id.replace(/^booking-/, "");
  const touched = (id) => cal.live.set(id, Date.now());
  liveFeed(cal.slug, {
    AppointmentBooked: (ev) => {
      const id = idOf(ev);
      const p = ev.data.placement;
      touched(id);
      cal.appts.set(id, { id, status: "booked", service_id: ev.data.service_id, staff_id: p.staff_id,
        start: p.start, end: p.end, client: null, notes: ev.data.notes, fresh: true });
      draw(cal);
      later();
    },
    AppointmentRescheduled: (ev) => {
      const id = idOf(ev);
      const to = ev.data.to;
      touched(id);
      const a = cal.appts.get(id) || { id, status: "booked", service_id: null, client: null };
      cal.appts.set(id, { ...a, status: "rescheduled", staff_id: to.staff_id, start: to.start, end: to.end, fresh: true });
      draw(cal);
      later();
    },
    AppointmentCancelled: (ev) => {
      const id = idOf(ev);
      touched(id);
      cal.appts.delete(id);
      draw(cal);
    },
    AppointmentCompleted: (ev) => { const a = cal.appts.get(idOf(ev)); if (a) { a.status = "completed"; draw(cal); } },
    AppointmentNoShow: (ev) => { const a = cal.appts.get(idOf(ev)); if (a) { a.status = "no_show"; draw(cal); } },
  }, status);
}

/** Columns: every staff member, plus "The business" when something is booked without a staff member. */
function columns(cal, list) {
  const cols = cal.staff.map((s) => ({ id: s.id, name: s.name }));
  if (cols.length === 0 || list.some((a) => !a.staff_id || !cols.some((c) => c.id === a.staff_id))) {
    cols.push({ id: null, name: cols.length ? "Unassigned" : "The business" });
  }
  return cols;
}

function draw(cal) {
  const list = [...cal.appts.values()]
    .filter((a) => new Date(a.end) > cal.from && new Date(a.start) < cal.to)
    .sort((x, y) => new Date(x.start) - new Date(y.start));
  const cols = columns(cal, list);
  const dayList = Array.from({ length: cal.days }, (_, i) => addDays(cal.date, i));
  const sections = dayList.map((d) => {
    const mine = list.filter((a) => localDate(new Date(a.start), cal.tz) === d);
    return h("section", { class: "calday", "data-date": d, "aria-label": d },
      h("h2", {}, fmtDay(zoned(d, "12:00", cal.tz), cal.tz)),
      h("div", { class: "calcols" }, cols.map((c) => {
        const here = mine.filter((a) => (c.id ? a.staff_id === c.id : !a.staff_id || !cols.some((k) => k.id === a.staff_id)));
        return h("div", { class: "calcol", "data-staff": c.id || "" }, h("h3", {}, c.name),
          here.length ? h("ul", { class: "appts" }, here.map((a) => apptItem(cal, a))) : h("p", { class: "muted" }, "Nothing booked."));
      })));
  });
  cal.grid.replaceChildren(...sections);
}

function apptItem(cal, a) {
  const service = cal.services.get(a.service_id);
  const who = a.client && a.client.name ? a.client.name : "Client";
  const li = h("li", { class: `appt ${a.fresh ? "fresh" : ""}`, "data-id": a.id, "data-status": a.status, tabindex: "0" },
    h("span", { class: "when" }, `${fmtTime(a.start, cal.tz)}–${fmtTime(a.end, cal.tz)}`),
    h("span", { class: "what" }, ` ${service ? service.name : "Appointment"} · ${who}`),
    a.status !== "booked" ? h("span", { class: "badge" }, a.status) : null);
  delete a.fresh;
  if (!can(cal.slug, "book")) return li;
  const box = h("div", { class: "appt-actions" });
  const move = h("button", { type: "button", class: "small", "data-edit": "move",
    onclick: () => box.replaceChildren(moveForm(cal, a, box)) }, "Move");
  const cancel = h("button", { type: "button", class: "small danger", "data-edit": "cancel", onclick: async () => {
    if (cancel.dataset.armed !== "yes") { cancel.dataset.armed = "yes"; cancel.textContent = "Really cancel?"; return; }
    try { await api("POST", `/appointments/${a.id}/cancel`, {}); } catch (err) { box.replaceChildren(errorBox(err)); }
  } }, "Cancel");
  li.append(h("span", { class: "actions" }, move, cancel), box);
  return li;
}

function moveForm(cal, a, box) {
  const staffOpts = [["", "Keep staff member"], ...cal.staff.map((s) => [s.id, s.name])];
  const form = h("form", { class: "inline", "data-edit": "reschedule" },
    field("New date", "date", { type: "date", value: localDate(new Date(a.start), cal.tz), required: true }),
    field("New time", "time", { type: "time", value: fmtTime(a.start, cal.tz), required: true }),
    cal.staff.length ? field("Staff member", "staff_id", { type: "select", options: staffOpts }) : null,
    h("button", { type: "submit" }, "Move"),
    h("button", { type: "button", onclick: () => box.replaceChildren() }, "Close"));
  return onSubmit(form, async (v) => {
    await api("POST", `/appointments/${a.id}/reschedule`, { start: `${v.date}T${v.time}:00`, staff_id: v.staff_id || null });
    box.replaceChildren(h("p", { role: "status" }, "Moved."));
  });
}
