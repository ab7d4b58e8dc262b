//! Typed tool arguments, read leniently from the argument map the agent sent.
//!
//! Language models are sloppy callers: numbers arrive where strings were asked for, names come in
//! camelCase, empty strings stand for "not given". We accept all of that and only refuse what we
//! cannot use, with a message that says what was expected.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};
use serde_json::{Map, Value};

use super::{ArgError, Tool};

/// Arguments of one tool call, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolArgs {
    /// `get_business_services {}`
    GetBusinessServices,
    /// `get_business_hours`
    GetBusinessHours(GetBusinessHoursArgs),
    /// `check_service_availability`
    CheckAvailability(CheckAvailabilityArgs),
    /// `book_appointment`
    BookAppointment(BookAppointmentArgs),
    /// `find_appointments`
    FindAppointments(FindAppointmentsArgs),
    /// `cancel_appointment`
    CancelAppointment(CancelAppointmentArgs),
    /// `reschedule_appointment`
    RescheduleAppointment(RescheduleAppointmentArgs),
}

impl ToolArgs {
    /// Validates `args` for `tool`. Unknown extra arguments are ignored.
    pub fn parse(tool: &Tool, args: &Map<String, Value>) -> Result<Self, ArgError> {
        Ok(match tool {
            Tool::GetBusinessServices => Self::GetBusinessServices,
            Tool::GetBusinessHours => Self::GetBusinessHours(GetBusinessHoursArgs::parse(args)?),
            Tool::CheckServiceAvailability => {
                Self::CheckAvailability(CheckAvailabilityArgs::parse(args)?)
            }
            Tool::BookAppointment => Self::BookAppointment(BookAppointmentArgs::parse(args)?),
            Tool::FindAppointments => Self::FindAppointments(FindAppointmentsArgs::parse(args)),
            Tool::CancelAppointment => Self::CancelAppointment(CancelAppointmentArgs::parse(args)?),
            Tool::RescheduleAppointment => {
                Self::RescheduleAppointment(RescheduleAppointmentArgs::parse(args)?)
            }
            Tool::Unknown(name) => return Err(ArgError::UnknownTool(name.clone())),
        })
    }
}

/// Which service the caller means: by id, by spoken name, or both (the handler tries the id
/// first and falls back to the name, since a model may invent an id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRef {
    /// `service_id`, if given.
    pub id: Option<String>,
    /// `service` (a spoken name such as "a haircut"), if given.
    pub name: Option<String>,
}

impl ServiceRef {
    fn parse(args: &Map<String, Value>) -> Result<Self, ArgError> {
        let id = text(args, &["service_id", "serviceId"]);
        let name = text(args, &["service", "service_name", "serviceName"]);
        if id.is_none() && name.is_none() {
            return Err(ArgError::Missing {
                field: "service",
                expected: "a service name or service_id",
            });
        }
        Ok(Self { id, name })
    }
}

/// A start time as the agent gave it: an instant with an offset, or a wall-clock time that the
/// handler resolves in the business's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartTime {
    /// RFC 3339 with an offset.
    Instant(DateTime<FixedOffset>),
    /// Business-local `YYYY-MM-DDTHH:MM[:SS]`.
    Local(NaiveDateTime),
}

const START_FORM: &str = "a time like 2027-03-15T14:30";
const DATE_FORM: &str = "YYYY-MM-DD";

impl StartTime {
    /// Parses RFC 3339 or a local `YYYY-MM-DDTHH:MM[:SS]` (a space instead of `T` is accepted).
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        if let Ok(instant) = DateTime::parse_from_rfc3339(raw) {
            return Some(Self::Instant(instant));
        }
        [
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%d %H:%M",
            "%Y-%m-%d %H:%M:%S",
        ]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(raw, format).ok())
        .map(Self::Local)
    }
}

/// `get_business_hours {"from"?, "to"?}`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetBusinessHoursArgs {
    /// First day, if given.
    pub from: Option<NaiveDate>,
    /// Last day, if given.
    pub to: Option<NaiveDate>,
}

impl GetBusinessHoursArgs {
    /// Validates the map; `from` after `to` is refused.
    pub fn parse(args: &Map<String, Value>) -> Result<Self, ArgError> {
        let from = optional_date(args, "from", &["from", "from_date", "fromDate", "date"])?;
        let to = optional_date(args, "to", &["to", "to_date", "toDate"])?;
        if let (Some(from), Some(to)) = (from, to)
            && from > to
        {
            return Err(ArgError::Invalid {
                field: "to",
                expected: "a date on or after from",
                got: to.to_string(),
            });
        }
        Ok(Self { from, to })
    }
}

/// `check_service_availability {"service_id"?, "service"?, "date", "staff_id"?}`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckAvailabilityArgs {
    /// The service, by id and/or name.
    pub service: ServiceRef,
    /// The day asked about, in the business's zone.
    pub date: NaiveDate,
    /// A preferred staff member.
    pub staff_id: Option<String>,
}

impl CheckAvailabilityArgs {
    /// Validates the map.
    pub fn parse(args: &Map<String, Value>) -> Result<Self, ArgError> {
        let service = ServiceRef::parse(args)?;
        let date = optional_date(args, "date", &["date", "day"])?.ok_or(ArgError::Missing {
            field: "date",
            expected: DATE_FORM,
        })?;
        Ok(Self {
            service,
            date,
            staff_id: text(args, &["staff_id", "staffId"]),
        })
    }
}

/// `book_appointment {"service_id"?, "service"?, "start", "client_name", "client_phone"?,
/// "staff_id"?, "notes"?}`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookAppointmentArgs {
    /// The service, by id and/or name.
    pub service: ServiceRef,
    /// When the appointment starts.
    pub start: StartTime,
    /// The client's name as spoken.
    pub client_name: String,
    /// The client's phone; `None` means "the caller's number".
    pub client_phone: Option<String>,
    /// A preferred staff member.
    pub staff_id: Option<String>,
    /// Free-text notes.
    pub notes: Option<String>,
}

impl BookAppointmentArgs {
    /// Validates the map.
    pub fn parse(args: &Map<String, Value>) -> Result<Self, ArgError> {
        let service = ServiceRef::parse(args)?;
        let start = required_start(args)?;
        let client_name =
            text(args, &["client_name", "clientName", "name"]).ok_or(ArgError::Missing {
                field: "client_name",
                expected: "the name to book under",
            })?;
        Ok(Self {
            service,
            start,
            client_name,
            client_phone: text(args, &["client_phone", "clientPhone", "phone"]),
            staff_id: text(args, &["staff_id", "staffId"]),
            notes: text(args, &["notes", "note"]),
        })
    }
}

/// `find_appointments {"client_phone"?}`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindAppointmentsArgs {
    /// The phone to search; `None` means "the caller's number".
    pub client_phone: Option<String>,
}

impl FindAppointmentsArgs {
    /// Reads the map; nothing is required.
    pub fn parse(args: &Map<String, Value>) -> Self {
        Self {
            client_phone: text(args, &["client_phone", "clientPhone", "phone"]),
        }
    }
}

/// `cancel_appointment {"appointment_id"}`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelAppointmentArgs {
    /// The appointment to cancel.
    pub appointment_id: String,
}

impl CancelAppointmentArgs {
    /// Validates the map.
    pub fn parse(args: &Map<String, Value>) -> Result<Self, ArgError> {
        Ok(Self {
            appointment_id: appointment_id(args)?,
        })
    }
}

/// `reschedule_appointment {"appointment_id", "start"}`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RescheduleAppointmentArgs {
    /// The appointment to move.
    pub appointment_id: String,
    /// The new start.
    pub start: StartTime,
}

impl RescheduleAppointmentArgs {
    /// Validates the map.
    pub fn parse(args: &Map<String, Value>) -> Result<Self, ArgError> {
        Ok(Self {
            appointment_id: appointment_id(args)?,
            start: required_start(args)?,
        })
    }
}

fn appointment_id(args: &Map<String, Value>) -> Result<String, ArgError> {
    text(args, &["appointment_id", "appointmentId", "id"]).ok_or(ArgError::Missing {
        field: "appointment_id",
        expected: "the id returned when the appointment was booked",
    })
}

fn required_start(args: &Map<String, Value>) -> Result<StartTime, ArgError> {
    let raw =
        text(args, &["start", "start_time", "startTime", "datetime"]).ok_or(ArgError::Missing {
            field: "start",
            expected: START_FORM,
        })?;
    StartTime::parse(&raw).ok_or_else(|| ArgError::Invalid {
        field: "start",
        expected: START_FORM,
        got: shorten(&raw),
    })
}

fn optional_date(
    args: &Map<String, Value>,
    field: &'static str,
    keys: &[&str],
) -> Result<Option<NaiveDate>, ArgError> {
    let Some(raw) = text(args, keys) else {
        return Ok(None);
    };
    // Accept a full timestamp too ("2027-03-15T00:00:00Z"): the date part is what was meant.
    let date_part = match (raw.get(..10), raw.get(10..11)) {
        (Some(date), Some("T" | "t" | " ")) => date,
        _ => raw.as_str(),
    };
    NaiveDate::parse_from_str(date_part, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| ArgError::Invalid {
            field,
            expected: DATE_FORM,
            got: shorten(&raw),
        })
}

/// The first of `keys` holding a usable scalar, as trimmed text. Empty strings and nulls count
/// as absent; numbers and booleans are turned into text; objects and arrays are ignored.
fn text(args: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|key| match args.get(*key)? {
        Value::String(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    })
}

/// Keeps echoed input short enough to read out and free of line breaks.
fn shorten(raw: &str) -> String {
    const MAX_CHARS: usize = 40;
    let mut out: String = raw
        .chars()
        .take(MAX_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if raw.chars().count() > MAX_CHARS {
        out.push('…');
    }
    out
}
