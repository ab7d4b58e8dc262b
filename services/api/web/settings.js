// VoiceAppoint dashboard — settings: services, staff, opening hours and date overrides, the agent and the
// profile. Members who may not change something see it read-only: no form, no button (the API also refuses).
"use strict";

route(/^\/b\/([^/]+)\/settings$/, async (slug) => {
  const b = await business(slug, true);
  const [{ services }, { staff }, hours] = await Promise.all([
    api("GET", `/businesses/${slug}/services`),
    api("GET", `/businesses/${slug}/staff`),
    api("GET", `/businesses/${slug}/hours`),
  ]);
  let agent = null;
  try { agent = await api("GET", `/businesses/${slug}/agent`); } catch (e) { /* not set up yet */ }
  const reload = () => render();
  page("Settings", h("p", { class: "muted" }, `${b.name} · your role: ${roleIn(slug)}`),
    servicesSection(slug, b, services, reload),
    staffSection(slug, services, staff, reload),
    hoursSection(slug, hours, reload),
    agentSection(slug, agent, reload),
    h("section", { id: "number" }, h("h2", {}, "Phone number"),
      h("p", {}, b.phone_number ? `${b.phone_number} (${b.live ? "live" : "not live yet"})` : "No number yet.")));
});

function saved(form, text) { form.append(h("p", { role: "status", class: "ok" }, text)); }

function servicesSection(slug, b, services, reload) {
  const edit = can(slug, "catalog");
  const rows = services.map((s) => h("tr", { "data-id": s.id },
    h("td", {}, s.name), h("td", {}, `${s.duration_minutes} min`), h("td", {}, `${s.price} ${s.currency}`),
    h("td", {}, s.voice_booking_enabled ? "yes" : "no"),
    edit ? h("td", {}, h("button", { type: "button", class: "small danger", "data-edit": "retire", onclick: async (ev) => {
      try { await api("DELETE", `/businesses/${slug}/services/${s.id}`); reload(); } catch (err) { ev.target.after(errorBox(err)); }
    } }, `Retire ${s.name}`)) : null));
  const out = h("section", { id: "services" }, h("h2", {}, "Services"),
    rows.length ? table(["Service", "Duration", "Price", "Phone booking", ...(edit ? [""] : [])], rows) : h("p", { class: "muted" }, "No services yet."));
  if (edit) {
    const form = h("form", { id: "service-add", "data-edit": "service" }, h("h3", {}, "Add a service"),
      field("Name", "name", { required: true }),
      field("Duration (minutes)", "duration", { type: "number", min: "5", step: "5", value: "30", required: true }),
      field(`Price (${b.currency})`, "price", { inputmode: "decimal", value: "0.00", required: true }),
      field("Buffer after (minutes)", "buffer_after", { type: "number", min: "0", value: "0" }),
      field("Bookable by phone", "voice", { type: "checkbox", checked: true }),
      h("button", { type: "submit" }, "Add service"));
    out.append(onSubmit(form, async (v) => {
      await api("POST", `/businesses/${slug}/services`, { name: v.name, duration_minutes: Number(v.duration), price: v.price,
        buffer_after_minutes: Number(v.buffer_after || 0), voice_booking_enabled: v.voice });
      reload();
    }));
  }
  return out;
}

function staffSection(slug, services, staff, reload) {
  const edit = can(slug, "catalog");
  const name = (id) => (services.find((s) => s.id === id) || { name: "retired service" }).name;
  const rows = staff.map((p) => h("tr", { "data-id": p.id }, h("td", {}, p.name),
    h("td", {}, p.service_ids.map(name).join(", ") || "—"), h("td", {}, p.weekly ? "own hours" : "business hours"),
    edit ? h("td", {}, h("button", { type: "button", class: "small danger", "data-edit": "remove-staff", onclick: async (ev) => {
      try { await api("DELETE", `/businesses/${slug}/staff/${p.id}`); reload(); } catch (err) { ev.target.after(errorBox(err)); }
    } }, `Remove ${p.name}`)) : null));
  const out = h("section", { id: "staff" }, h("h2", {}, "Staff"),
    rows.length ? table(["Name", "Services", "Hours", ...(edit ? [""] : [])], rows) : h("p", { class: "muted" }, "No staff: the business itself is booked."));
  if (edit) {
    const form = h("form", { id: "staff-add", "data-edit": "staff" }, h("h3", {}, "Add a staff member"),
      field("Name", "name", { required: true }),
      h("fieldset", {}, h("legend", {}, "Services they do"),
        services.map((s) => field(s.name, `svc_${s.id}`, { type: "checkbox", checked: true }))),
      h("button", { type: "submit" }, "Add staff member"));
    out.append(onSubmit(form, async (v) => {
      const ids = services.filter((s) => v[`svc_${s.id}`]).map((s) => s.id);
      await api("POST", `/businesses/${slug}/staff`, { name: v.name, service_ids: ids });
      reload();
    }));
  }
  return out;
}

function hoursSection(slug, hours, reload) {
  const edit = can(slug, "catalog");
  const weekly = hours.weekly || {};
  const out = h("section", { id: "hours" }, h("h2", {}, "Opening hours"),
    h("p", { class: "muted" }, `Local time in ${hours.timezone}.`),
    table(["Day", "Open"], DAYS.map(([k, n]) => h("tr", {}, h("td", {}, n),
      h("td", {}, (weekly[k] || []).map(([a, z]) => `${a}–${z}`).join(", ") || "closed")))),
    h("h3", {}, "Date overrides"),
    Object.keys(hours.overrides || {}).length
      ? h("ul", {}, Object.entries(hours.overrides).map(([d, iv]) => h("li", {}, `${d}: ${iv.length ? iv.map(([a, z]) => `${a}–${z}`).join(", ") : "closed"}`)))
      : h("p", { class: "muted" }, "No overrides."));
  if (!edit) return out;
  const [week, readWeek] = weeklyEditor(weekly);
  const form = h("form", { id: "hours-edit", "data-edit": "hours" }, h("h3", {}, "Change the weekly hours"), week,
    h("button", { type: "submit" }, "Save hours"));
  out.append(onSubmit(form, async (v) => {
    await api("PUT", `/businesses/${slug}/hours`, { weekly: readWeek(v), overrides: hours.overrides || {} });
    saved(form, "Hours saved.");
    setTimeout(reload, 600);
  }));
  const override = h("form", { id: "override-add", "data-edit": "override" }, h("h3", {}, "Add a date override"),
    field("Date", "date", { type: "date", required: true }),
    field("Closed all day", "closed", { type: "checkbox", checked: true }),
    field("Opens", "from", { type: "time", value: "10:00" }),
    field("Closes", "to", { type: "time", value: "14:00" }),
    h("button", { type: "submit" }, "Save override"));
  out.append(onSubmit(override, async (v) => {
    const overrides = { ...(hours.overrides || {}), [v.date]: v.closed ? [] : [[v.from, v.to]] };
    await api("PUT", `/businesses/${slug}/hours`, { weekly, overrides });
    saved(override, "Override saved.");
    setTimeout(reload, 600);
  }));
  return out;
}

function agentSection(slug, agent, reload) {
  const out = h("section", { id: "agent" }, h("h2", {}, "Phone agent"));
  if (!can(slug, "business")) {
    out.append(agent ? h("dl", { class: "facts" }, [["Name", agent.name], ["Greeting", agent.greeting], ["Personality", agent.personality || "—"]]
      .map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, v)))) : h("p", { class: "muted" }, "Not set up yet."));
    return out;
  }
  const form = h("form", { id: "agent-edit", "data-edit": "agent" },
    field("Agent name", "name", { value: agent ? agent.name : "", required: true }),
    field("Greeting", "greeting", { value: agent ? agent.greeting : "", required: true }),
    field("Personality", "personality", { value: agent && agent.personality ? agent.personality : "" }),
    field("Instructions", "instructions", { type: "textarea", value: agent && agent.instructions ? agent.instructions : "" }),
    h("button", { type: "submit" }, "Save agent"));
  out.append(onSubmit(form, async (v) => {
    await api("PUT", `/businesses/${slug}/agent`, { name: v.name, greeting: v.greeting,
      personality: v.personality || null, instructions: v.instructions || null });
    saved(form, "Agent saved.");
    setTimeout(reload, 600);
  }));
  return out;
}
