// VoiceAppoint dashboard — onboarding in four steps: business info, a phone number from the pool, the agent,
// hours and a first service; it ends on "Your line is live" with the number.
"use strict";

const STEPS = ["Business", "Phone number", "Agent", "Hours and services"];
const DAYS = [["mon", "Monday"], ["tue", "Tuesday"], ["wed", "Wednesday"], ["thu", "Thursday"], ["fri", "Friday"],
  ["sat", "Saturday"], ["sun", "Sunday"]];

function stepper(current) {
  return h("ol", { class: "steps", "aria-label": "Onboarding steps" }, STEPS.map((s, i) =>
    h("li", { "aria-current": i + 1 === current ? "step" : null, class: i + 1 < current ? "done" : null }, s)));
}

function next(slug, step) { location.hash = `#/b/${slug}/onboarding/${step}`; }

route(/^\/b\/([^/]+)\/onboarding\/(\d|done)$/, async (slug, step) => {
  const b = await business(slug, true);
  if (!can(slug, "business")) { location.hash = `#/b/${slug}`; return; }
  if (step === "done") return onboardingDone(slug);
  const n = Number(step);
  const body = [stepper(n), h("p", { class: "muted" }, `Step ${n} of 4 for ${b.name}.`)];
  if (n === 1) body.push(stepBusiness(slug, b));
  else if (n === 2) body.push(...stepNumber(slug, b));
  else if (n === 3) body.push(await stepAgent(slug));
  else body.push(stepHours(slug, b));
  page(`Set up: ${STEPS[n - 1] || "done"}`, ...body);
});

function stepBusiness(slug, b) {
  const form = h("form", { id: "onboarding-business" },
    field("Business name", "name", { value: b.name, required: true }),
    field("Kind of business", "business_type", { type: "select", options: BUSINESS_TYPES, value: b.business_type }),
    field("Time zone", "timezone", timezoneOptions(b.timezone)),
    field("Currency", "currency", { type: "select", options: [["USD", "USD"], ["EUR", "EUR"], ["GBP", "GBP"]], value: b.currency }),
    h("button", { type: "submit" }, "Save and continue"));
  return onSubmit(form, async (v) => {
    await api("PATCH", `/businesses/${slug}`, v);
    next(slug, 2);
  });
}

function stepNumber(slug, b) {
  if (b.phone_number) {
    return [h("p", {}, "Your number: ", h("strong", { class: "number" }, b.phone_number)),
      h("button", { type: "button", onclick: () => next(slug, 3) }, "Continue")];
  }
  const results = h("div", { id: "number-results", "aria-live": "polite" });
  const search = h("form", { id: "number-search", role: "search" },
    field("Area code", "area_code", { inputmode: "numeric", placeholder: "e.g. 415", hint: "Leave empty to see every free number." }),
    h("button", { type: "submit" }, "Find numbers"));
  onSubmit(search, async (v) => {
    const q = v.area_code ? `?area_code=${encodeURIComponent(v.area_code)}` : "";
    const { numbers } = await api("GET", `/phone-numbers/available${q}`);
    if (numbers.length === 0) {
      results.replaceChildren(h("p", { role: "status" }, "No free numbers with that area code. Try another one."));
      return;
    }
    const choose = h("form", { id: "number-claim" },
      h("fieldset", {}, h("legend", {}, "Choose your number"),
        numbers.map((n, i) => {
          const id = `num-${i}`;
          return h("div", { class: "field check" },
            h("input", { type: "radio", name: "number", id, value: n.number, checked: i === 0, required: true }),
            h("label", { for: id }, `${n.number} — ${n.locality}, ${n.region}`));
        })),
      h("button", { type: "submit" }, "Take this number"));
    results.replaceChildren(onSubmit(choose, async () => {
      const picked = choose.querySelector("input[name=number]:checked").value;
      await api("POST", `/businesses/${slug}/phone-number`, { number: picked });
      next(slug, 3);
    }));
  });
  return [search, results];
}

async function stepAgent(slug) {
  let agent = {};
  try { agent = await api("GET", `/businesses/${slug}/agent`); } catch (e) { /* none yet */ }
  const form = h("form", { id: "onboarding-agent" },
    field("Agent name", "name", { value: agent.name || "Sara", required: true }),
    field("Greeting", "greeting", { value: agent.greeting || "", required: true, placeholder: "Thanks for calling! How can I help?" }),
    field("Personality", "personality", { value: agent.personality || "", placeholder: "warm and brief" }),
    field("Instructions", "instructions", { type: "textarea", value: agent.instructions || "" }),
    h("button", { type: "submit" }, "Save and continue"));
  return onSubmit(form, async (v) => {
    await api("PUT", `/businesses/${slug}/agent`, { name: v.name, greeting: v.greeting,
      personality: v.personality || null, instructions: v.instructions || null });
    next(slug, 4);
  });
}

/** The weekly hours as one open interval per day (checkbox + two times); returns [element, read()]. */
function weeklyEditor(weekly) {
  const rows = DAYS.map(([key, name]) => {
    const [open, close] = (weekly && weekly[key] && weekly[key][0]) || (weekly ? [] : (key === "sat" || key === "sun" ? [] : ["09:00", "17:00"]));
    return h("fieldset", { class: "day", "data-day": key }, h("legend", {}, name),
      field(`Open on ${name}`, `${key}_open`, { type: "checkbox", checked: !!open }),
      field(`${name} opens`, `${key}_from`, { type: "time", value: open || "09:00" }),
      field(`${name} closes`, `${key}_to`, { type: "time", value: close || "17:00" }));
  });
  const read = (v) => Object.fromEntries(DAYS.map(([key]) => [key, v[`${key}_open`] ? [[v[`${key}_from`], v[`${key}_to`]]] : []]));
  return [h("div", { class: "week" }, rows), read];
}

function stepHours(slug, b) {
  const [week, readWeek] = weeklyEditor(null);
  const form = h("form", { id: "onboarding-hours" },
    h("h2", {}, "Opening hours"), week,
    h("h2", {}, "Your first service"),
    b.onboarding.services ? h("p", { class: "muted" }, "You already have services; add more under Settings.") : [
      field("Service name", "service_name", { required: true, placeholder: "Haircut" }),
      field("Duration (minutes)", "duration", { type: "number", value: "30", min: "5", step: "5", required: true }),
      field(`Price (${b.currency})`, "price", { inputmode: "decimal", value: "35.00", required: true }),
    ],
    h("button", { type: "submit" }, "Finish"));
  return onSubmit(form, async (v) => {
    await api("PUT", `/businesses/${slug}/hours`, { weekly: readWeek(v), overrides: {} });
    if (v.service_name) {
      await api("POST", `/businesses/${slug}/services`, { name: v.service_name, duration_minutes: Number(v.duration), price: v.price });
    }
    next(slug, "done");
  });
}

async function onboardingDone(slug) {
  page("Finishing setup…", h("p", { role: "status" }, "Checking that everything is in place…"));
  let b = await business(slug, true);
  for (let i = 0; i < 30 && !b.live; i++) {
    await sleep(250);
    b = await business(slug, true);
  }
  if (b.live) {
    page("Your line is live",
      h("p", { class: "live-number" }, "Callers can book by phone at ", h("strong", { class: "number" }, b.phone_number), "."),
      h("p", {}, h("a", { href: `#/b/${slug}` }, "Go to your dashboard"), " · ", h("a", { href: `#/b/${slug}/calendar` }, "Open the calendar")));
    return;
  }
  const missing = Object.entries(b.onboarding).filter(([, ok]) => !ok).map(([k]) => k.replace("_", " "));
  if (!b.voice_booking_enabled) missing.push("voice booking is switched off");
  page("Almost there", h("p", { role: "alert" }, `Still missing: ${missing.join(", ")}.`),
    h("p", {}, h("a", { href: `#/b/${slug}/onboarding/1` }, "Go through the steps again")));
}
