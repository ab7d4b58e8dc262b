// VoiceAppoint dashboard — the business's dashboard: today and the last 30 days (calls, bookings,
// conversion, minutes, revenue) and today's calls per hour as a bar chart; refreshed from the live feed.
"use strict";

function figures(title, f, currency) {
  const pct = f.conversion === null || f.conversion === undefined ? "—" : `${(f.conversion * 100).toFixed(1)} %`;
  const items = [["Calls", f.calls], ["Bookings", f.bookings], ["Conversion", pct], ["Voice minutes", f.voice_minutes],
    ["Revenue booked", `${f.revenue_booked} ${currency}`]];
  return h("section", { class: "figures", "aria-label": title }, h("h2", {}, title),
    h("dl", {}, items.map(([k, v]) => h("div", { class: "figure" }, h("dt", {}, k), h("dd", {}, String(v))))));
}

/** 24 bars, one per local hour; each bar says its count for screen readers and on hover. */
function hourChart(counts) {
  const max = Math.max(1, ...counts);
  return h("figure", { class: "chart" },
    h("div", { class: "bars", role: "img", "aria-label": `Calls per hour today: ${counts.map((c, i) => (c ? `${i}h ${c}` : "")).filter(Boolean).join(", ") || "none"}` },
      counts.map((c, hour) => h("div", { class: "bar", title: `${String(hour).padStart(2, "0")}:00 — ${c} calls` },
        h("span", { class: `fill h${Math.round((c / max) * 20) * 5}` }),
        h("span", { class: "hour" }, hour % 3 === 0 ? String(hour) : "")))),
    h("figcaption", {}, "Calls per hour today"));
}

async function drawDashboard(slug, holder) {
  const b = await business(slug);
  const tz = b.timezone;
  const today = localDate(new Date(), tz);
  const [day, month, calls] = await Promise.all([
    api("GET", `/businesses/${slug}/dashboard?from=${today}&to=${today}`),
    api("GET", `/businesses/${slug}/dashboard?from=${addDays(today, -29)}&to=${today}`),
    api("GET", `/businesses/${slug}/calls?from=${encodeURIComponent(zoned(today, "00:00", tz).toISOString())}`),
  ]);
  const counts = new Array(24).fill(0);
  for (const c of calls.calls) {
    const at = c.started_at || c.ended_at;
    if (at && localDate(new Date(at), tz) === today) counts[localHour(at, tz)] += 1;
  }
  const busiest = month.busiest_hours.map((x) => `${String(x.hour).padStart(2, "0")}:00 (${x.calls})`).join(", ");
  holder.replaceChildren(
    h("div", { class: "grid2" }, figures(`Today, ${today}`, day.totals, day.currency),
      figures(`Last 30 days (${month.from} to ${month.to})`, month.totals, month.currency)),
    hourChart(counts),
    h("p", {}, `Busiest hours over 30 days: ${busiest || "no calls yet"}.`));
}

route(/^\/b\/([^/]+)$/, async (slug) => {
  const b = await business(slug, true);
  const holder = h("div", { id: "dashboard" }, h("p", { class: "muted" }, "Loading figures…"));
  const status = h("p", { class: "live-status", role: "status" });
  const intro = b.live ? h("p", {}, "Your line ", h("strong", { class: "number" }, b.phone_number), " is live.")
    : h("p", { class: "warn" }, "Your line is not live yet. ",
      can(slug, "business") ? h("a", { href: `#/b/${slug}/onboarding/1` }, "Finish setting up") : "An owner needs to finish setting it up.");
  page(b.name, intro, zoneNote(b.timezone), status, holder);
  await drawDashboard(slug, holder);
  let pending = null;
  const refresh = () => {
    clearTimeout(pending);
    // The figures come from a projection that follows the feed by a moment.
    pending = setTimeout(() => drawDashboard(slug, holder).catch(() => {}), 800);
  };
  const handlers = {};
  for (const t of ["CallStarted", "CallEnded", "CallReportReceived", "AppointmentBooked", "AppointmentCancelled", "AppointmentRescheduled"]) handlers[t] = refresh;
  liveFeed(slug, handlers, status);
  VA.cleanup.push(() => clearTimeout(pending));
});
