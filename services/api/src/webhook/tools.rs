//! `tool-calls` (and legacy `function-call`): the seven booking tools of DESIGN.md §8.
//!
//! Always HTTP 200 with one result per call, in order, each a single-line string (compact JSON) or an
//! error sentence the agent can read to the caller. Every call is recorded as `ToolInvoked`.
//! `book_appointment` is idempotent on the tool-call id, like an HTTP `Idempotency-Key`. Each business
//! has a tool-call budget (`VOICEAPPOINT_TOOL_RPS`/`_BURST`); calls over it are answered "busy".

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use domain::call::Observation;
use domain::scheduling::resolve_days;
use events::call::ToolInvoked;
use serde_json::{Value, json};
use uuid::Uuid;
use vapi::Message;
use vapi::response::ToolResults;
use vapi::tools::{ServiceRef, StartTime, Tool, ToolArgs};

use crate::booking::reply::{local_rfc3339, slot_json};
use crate::booking::{
    BookRequest, BookingService, BusinessCatalog, ClientInput, CommandContext, RescheduleRequest,
};
use crate::tenancy::directory::BusinessRef;
use crate::{ApiError, AppState};

/// Longest range `get_business_hours` answers for.
const MAX_HOURS_DAYS: i64 = 31;

/// One message's context: the business, its catalog and the caller.
struct Ctx<'a> {
    state: &'a AppState,
    message: &'a Message,
    business: BusinessRef,
    catalog: Arc<BusinessCatalog>,
}

/// Answers a `tool-calls` message.
pub async fn answer(state: &AppState, message: &Message) -> Response {
    let calls = message.tool_calls();
    let business = match route(state, message).await {
        Ok(business) => business,
        Err(sentence) => return answer_all(calls, &sentence),
    };
    // The budget is taken before any database work: calls over it cost nothing but their answer.
    let within: Vec<bool> = calls
        .iter()
        .map(|_| within_budget(state, &business))
        .collect();
    if !within.contains(&true) {
        return answer_all(calls, BUSY);
    }
    let ctx = match context(state, message, business).await {
        Ok(ctx) => ctx,
        Err(sentence) => return answer_all(calls, &sentence),
    };
    let mut results = ToolResults::with_capacity(calls.len());
    for (call, within) in calls.iter().zip(within) {
        if !within {
            results.answer(call, Err::<&Value, _>(BUSY));
            continue;
        }
        let started = Instant::now();
        let outcome = match &call.arguments {
            Ok(args) => run(&ctx, &call.id, &call.tool(), args).await,
            Err(err) => Err(err.to_string()),
        };
        results.answer(call, outcome.as_ref().map(|(v, _)| v));
        record(&ctx, call, &outcome, started).await;
    }
    Json(results.to_value()).into_response()
}

/// Every call answered with the same error sentence.
fn answer_all(calls: &[vapi::ToolCall], sentence: &str) -> Response {
    let mut results = ToolResults::with_capacity(calls.len());
    for call in calls {
        results.answer(call, Err::<&Value, _>(sentence));
    }
    Json(results.to_value()).into_response()
}

/// Answers a legacy `function-call` message with `{"result": "..."}`.
pub async fn answer_function_call(state: &AppState, message: &Message) -> Response {
    let Some(call) = message.function_call() else {
        return Json(vapi::response::error_response(
            "no function call in the message",
        ))
        .into_response();
    };
    let business = match route(state, message).await {
        Ok(business) => business,
        Err(sentence) => return Json(vapi::response::error_response(&sentence)).into_response(),
    };
    if !within_budget(state, &business) {
        return Json(vapi::response::error_response(BUSY)).into_response();
    }
    let ctx = match context(state, message, business).await {
        Ok(ctx) => ctx,
        Err(sentence) => return Json(vapi::response::error_response(&sentence)).into_response(),
    };
    let id = format!("fc-{}-{}", message.call_id().unwrap_or_default(), call.name);
    let outcome: Outcome = match &call.parameters {
        Ok(args) => run(&ctx, &id, &Tool::from_name(&call.name), args).await,
        Err(err) => Err(err.to_string()),
    };
    match outcome {
        Ok((value, _)) => Json(vapi::response::function_call_result(&value)).into_response(),
        Err(err) => Json(vapi::response::error_response(&err)).into_response(),
    }
}

/// What the agent hears for a tool call over the business's budget.
const BUSY: &str = "The booking system is very busy right now; please try again in a moment.";

/// Takes one tool call from the business's budget (DESIGN.md §10). A call over it is answered `BUSY` and
/// not recorded: it did nothing, and recording a runaway loop's every call would be the load we refuse.
fn within_budget(state: &AppState, business: &BusinessRef) -> bool {
    let ok = state
        .tenancy()
        .tool_limiter
        .try_acquire(business.business_id);
    if !ok {
        metrics::counter!("va_tool_calls_rate_limited_total").increment(1);
    }
    ok
}

/// The business the call's number routes to, or the sentence the agent says instead.
async fn route(state: &AppState, message: &Message) -> Result<BusinessRef, String> {
    match super::routing::business_for(state, message).await {
        Ok(Some(business)) => Ok(business),
        Ok(None) => {
            Err("This phone line is not connected to a business that takes bookings.".into())
        }
        Err(err) => {
            tracing::warn!(error = %err, "routing failed");
            Err("Bookings are unavailable for a moment; please try again shortly.".into())
        }
    }
}

/// The routed business with its catalog.
async fn context<'a>(
    state: &'a AppState,
    message: &'a Message,
    business: BusinessRef,
) -> Result<Ctx<'a>, String> {
    let catalog = crate::booking::catalog::current(state, business.business_id)
        .await
        .map_err(|e| e.message)?;
    Ok(Ctx {
        state,
        message,
        business,
        catalog,
    })
}

async fn record(
    ctx: &Ctx<'_>,
    call: &vapi::ToolCall,
    outcome: &Result<(Value, Option<Uuid>), String>,
    started: Instant,
) {
    let Some(call_id) = ctx.message.call_id() else {
        return;
    };
    let (text, ok, appointment_id) = match outcome {
        Ok((v, appointment)) => (vapi::response::compact_json(v), true, *appointment),
        Err(e) => (vapi::response::single_line(e), false, None),
    };
    let invoked = ToolInvoked {
        call_id: call_id.to_owned(),
        tool_call_id: call.id.clone(),
        name: call.name.clone(),
        arguments: call
            .arguments
            .as_ref()
            .map_or(Value::Null, |m| Value::Object(m.clone())),
        outcome: if ok { "ok" } else { "error" }.into(),
        result: text,
        latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        appointment_id,
        occurred_at: ctx.state.store().clock().now(),
    };
    let observation = Observation::Tool(invoked);
    if let Err(err) =
        super::lifecycle::record(ctx.state, &ctx.business, ctx.message, &observation).await
    {
        // The answer (maybe a booking) stands; its record must not be lost to a database blip. The event id
        // is derived from the tool-call id, so retrying can only ever store it once.
        tracing::warn!(error = %err, call_id, "could not record a tool invocation; retrying in the background");
        let (state, business, message) =
            (ctx.state.clone(), ctx.business.clone(), ctx.message.clone());
        let call_id = call_id.to_owned();
        tokio::spawn(async move {
            for attempt in 1..=RECORD_RETRIES {
                tokio::time::sleep(Duration::from_millis(500)).await;
                match super::lifecycle::record(&state, &business, &message, &observation).await {
                    Ok(()) => return,
                    Err(err) if attempt == RECORD_RETRIES => {
                        tracing::error!(error = %err, call_id, "gave up recording a tool invocation");
                    }
                    Err(_) => {}
                }
            }
        });
    }
}

/// Background attempts (every 0.5 s) to record a tool invocation after the first failed: two minutes.
const RECORD_RETRIES: u32 = 240;

type Outcome = Result<(Value, Option<Uuid>), String>;

async fn run(
    ctx: &Ctx<'_>,
    tool_call_id: &str,
    tool: &Tool,
    args: &serde_json::Map<String, Value>,
) -> Outcome {
    metrics::counter!("va_tool_calls_total", "tool" => tool.as_str().to_owned()).increment(1);
    let parsed = ToolArgs::parse(tool, args).map_err(|e| e.to_string())?;
    let service = BookingService::new(ctx.state.store().clone());
    let plain = |v: Value| Ok((v, None));
    match parsed {
        ToolArgs::GetBusinessServices => plain(services(ctx).await?),
        ToolArgs::GetBusinessHours(a) => plain(hours(ctx, a.from, a.to)?),
        ToolArgs::CheckAvailability(a) => {
            let service_id = resolve_service(&ctx.catalog, &a.service)?;
            let staff = parse_staff(a.staff_id.as_deref())?;
            plain(availability(ctx, service_id, staff, a.date).await?)
        }
        ToolArgs::BookAppointment(a) => {
            let request = BookRequest {
                service_id: resolve_service(&ctx.catalog, &a.service)?,
                start: instant(&a.start, &ctx.catalog),
                staff_id: parse_staff(a.staff_id.as_deref())?,
                client: Some(ClientInput {
                    name: a.client_name.clone(),
                    phone: a
                        .client_phone
                        .clone()
                        .or_else(|| ctx.message.customer_number().map(str::to_owned)),
                    email: None,
                }),
                hold_id: None,
                notes: a.notes.clone(),
            };
            let reply = service
                .book(&ctx.catalog, &request, &command(ctx, tool_call_id))
                .await
                .map_err(spoken)?;
            Ok(booking_result(&reply.body, reply.status.is_success()))
        }
        ToolArgs::FindAppointments(a) => {
            let phone = a
                .client_phone
                .or_else(|| ctx.message.customer_number().map(str::to_owned));
            let Some(phone) = phone else {
                return Err("I need the phone number the appointment was booked with.".into());
            };
            plain(find(ctx, &phone).await?)
        }
        ToolArgs::CancelAppointment(a) => {
            let id = parse_uuid(&a.appointment_id, "appointment id")?;
            let reply = service
                .cancel(&ctx.catalog, id, None, &command(ctx, tool_call_id))
                .await
                .map_err(spoken)?;
            let body = reply.body;
            Ok((
                json!({"status": "cancelled", "appointment_id": id, "start": body["start"], "service": body["service"]}),
                Some(id),
            ))
        }
        ToolArgs::RescheduleAppointment(a) => {
            let id = parse_uuid(&a.appointment_id, "appointment id")?;
            let request = RescheduleRequest {
                start: instant(&a.start, &ctx.catalog),
                staff_id: None,
            };
            let reply = service
                .reschedule(&ctx.catalog, id, &request, &command(ctx, tool_call_id))
                .await
                .map_err(spoken)?;
            Ok(booking_result(&reply.body, reply.status.is_success()))
        }
    }
}

fn command(ctx: &Ctx<'_>, tool_call_id: &str) -> CommandContext {
    CommandContext {
        idempotency_key: Some(format!("vapi:{tool_call_id}")),
        metadata: super::lifecycle::call_metadata(
            ctx.message.call_id().unwrap_or_default(),
            Some(tool_call_id),
        ),
    }
}

fn spoken(err: ApiError) -> String {
    err.message
}

/// `{"status":"booked",…}` or `{"status":"unavailable","alternatives":[…]}` from a booking reply.
fn booking_result(body: &Value, ok: bool) -> (Value, Option<Uuid>) {
    if !ok {
        return (
            json!({"status": "unavailable", "alternatives": body["alternatives"]}),
            None,
        );
    }
    let id = body["id"].as_str().and_then(|s| s.parse().ok());
    (
        json!({"status": "booked", "appointment_id": body["id"], "start": body["start"], "end": body["end"],
               "service": body["service"], "staff": body["staff"]}),
        id,
    )
}

/// The services callers can book by phone.
async fn services(ctx: &Ctx<'_>) -> Result<Value, String> {
    let list =
        crate::tenancy::read::services(ctx.state.store().pool(), ctx.catalog.business_id, false)
            .await
            .map_err(|e| spoken(e.into()))?;
    let list: Vec<Value> = list
        .iter()
        .filter(|s| s.voice_booking_enabled)
        .map(|s| {
            json!({"id": s.id, "name": s.name, "duration_minutes": s.duration_minutes,
                        "price": s.price, "currency": s.currency})
        })
        .collect();
    Ok(json!({"services": list}))
}

fn hours(ctx: &Ctx<'_>, from: Option<NaiveDate>, to: Option<NaiveDate>) -> Result<Value, String> {
    let tz = ctx.catalog.timezone;
    let today = ctx
        .state
        .store()
        .clock()
        .now()
        .with_timezone(&tz)
        .date_naive();
    let from = from.unwrap_or(today);
    let to = to.unwrap_or(from + TimeDelta::days(6));
    if to < from || (to - from).num_days() >= MAX_HOURS_DAYS {
        return Err(format!(
            "I can give opening hours for up to {MAX_HOURS_DAYS} days at a time."
        ));
    }
    let days: Vec<Value> = resolve_days(tz, &ctx.catalog.weekly, &ctx.catalog.overrides, from, to)
        .into_iter()
        .map(|d| json!({"date": d.date, "intervals": d.local}))
        .collect();
    Ok(json!({"timezone": tz.name(), "days": days}))
}

async fn availability(
    ctx: &Ctx<'_>,
    service_id: Uuid,
    staff: Option<Uuid>,
    date: NaiveDate,
) -> Result<Value, String> {
    let service = BookingService::new(ctx.state.store().clone());
    let slots = service
        .slots(&ctx.catalog, service_id, staff, date, 1)
        .await
        .map_err(spoken)?;
    let next = if slots.is_empty() {
        service
            .next_available(&ctx.catalog, service_id, staff, date, 3)
            .await
            .map_err(spoken)?
    } else {
        Vec::new()
    };
    let tz = ctx.catalog.timezone;
    let slot_json = |s: &domain::scheduling::Slot| slot_json(tz, s);
    Ok(json!({"timezone": tz.name(), "date": date,
              "slots": slots.iter().map(slot_json).collect::<Vec<_>>(),
              "next_available": next.iter().map(slot_json).collect::<Vec<_>>()}))
}

async fn find(ctx: &Ctx<'_>, phone: &str) -> Result<Value, String> {
    let now = ctx.state.store().clock().now();
    let rows = crate::booking::catalog::appointments(
        ctx.state.store().pool(),
        ctx.catalog.business_id,
        now,
        now + TimeDelta::days(366),
        Some("booked"),
        Some(phone),
    )
    .await
    .map_err(spoken)?;
    let tz = ctx.catalog.timezone;
    let list: Vec<Value> = rows
        .iter()
        .map(|a| {
            let service = ctx.catalog.services.iter().find(|s| s.id == a.service_id).map(|s| s.name.clone());
            json!({"appointment_id": a.id, "start": local_rfc3339(tz, a.starts_at), "end": local_rfc3339(tz, a.ends_at),
                   "service": service, "staff": ctx.catalog.staff_name(a.staff_id), "status": a.status})
        })
        .collect();
    Ok(json!({"appointments": list}))
}

fn instant(start: &StartTime, catalog: &BusinessCatalog) -> DateTime<Utc> {
    match start {
        StartTime::Instant(at) => at.with_timezone(&Utc),
        StartTime::Local(local) => domain::scheduling::local_to_utc(catalog.timezone, *local),
    }
}

fn parse_uuid(text: &str, what: &str) -> Result<Uuid, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("I could not find that {what}."))
}

fn parse_staff(text: Option<&str>) -> Result<Option<Uuid>, String> {
    text.map(|t| parse_uuid(t, "staff member")).transpose()
}

/// Folds a spoken service name for matching: lower case, letters and digits only, no leading article.
fn fold(name: &str) -> String {
    let lower = name.trim().to_lowercase();
    let trimmed = ["a ", "an ", "the ", "one "]
        .iter()
        .find_map(|article| lower.strip_prefix(article))
        .unwrap_or(&lower);
    trimmed.chars().filter(|c| c.is_alphanumeric()).collect()
}

/// The service meant by an id or a spoken name ("a haircut", "Haircut ", "hair cut" → Haircut).
pub fn resolve_service(catalog: &BusinessCatalog, wanted: &ServiceRef) -> Result<Uuid, String> {
    let live = || catalog.services.iter().filter(|s| !s.retired);
    if let Some(id) = wanted
        .id
        .as_deref()
        .and_then(|id| id.trim().parse::<Uuid>().ok())
        && catalog.services.iter().any(|s| s.id == id)
    {
        return Ok(id);
    }
    let name = wanted
        .name
        .as_deref()
        .or(wanted.id.as_deref())
        .unwrap_or_default();
    let folded = fold(name);
    if folded.is_empty() {
        return Err("Which service would you like?".into());
    }
    let exact: Vec<_> = live().filter(|s| fold(&s.name) == folded).collect();
    let candidates = if exact.is_empty() {
        let singular = folded.trim_end_matches('s');
        live()
            .filter(|s| fold(&s.name).contains(singular) || folded.contains(&fold(&s.name)))
            .collect()
    } else {
        exact
    };
    match candidates.as_slice() {
        [one] => Ok(one.id),
        [] => Err(format!(
            "We do not offer \"{}\". Ask for the list of services.",
            name.trim()
        )),
        many => Err(format!(
            "Which one do you mean: {}?",
            many.iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}
