//! The seven booking tools of DESIGN.md §8: names, argument schemas and lenient argument parsing.

mod args;
mod definitions;

pub use args::{
    BookAppointmentArgs, CancelAppointmentArgs, CheckAvailabilityArgs, FindAppointmentsArgs,
    GetBusinessHoursArgs, RescheduleAppointmentArgs, ServiceRef, StartTime, ToolArgs,
};
pub use definitions::{tool_definition, tool_definitions};

/// A tool the voice agent may call. Unknown names are kept so they can be answered with an error.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Tool {
    /// `get_business_services`
    GetBusinessServices,
    /// `get_business_hours`
    GetBusinessHours,
    /// `check_service_availability`
    CheckServiceAvailability,
    /// `book_appointment`
    BookAppointment,
    /// `find_appointments`
    FindAppointments,
    /// `cancel_appointment`
    CancelAppointment,
    /// `reschedule_appointment`
    RescheduleAppointment,
    /// Any other name, verbatim.
    Unknown(String),
}

impl Tool {
    /// Every known tool, in the order they are offered to the agent.
    pub const ALL: [Tool; 7] = [
        Tool::GetBusinessServices,
        Tool::GetBusinessHours,
        Tool::CheckServiceAvailability,
        Tool::BookAppointment,
        Tool::FindAppointments,
        Tool::CancelAppointment,
        Tool::RescheduleAppointment,
    ];

    /// Maps a wire name to a tool. Exact match after trimming; anything else is `Unknown`.
    pub fn from_name(name: &str) -> Self {
        match name.trim() {
            "get_business_services" => Self::GetBusinessServices,
            "get_business_hours" => Self::GetBusinessHours,
            "check_service_availability" => Self::CheckServiceAvailability,
            "book_appointment" => Self::BookAppointment,
            "find_appointments" => Self::FindAppointments,
            "cancel_appointment" => Self::CancelAppointment,
            "reschedule_appointment" => Self::RescheduleAppointment,
            _ => Self::Unknown(name.to_owned()),
        }
    }

    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            Self::GetBusinessServices => "get_business_services",
            Self::GetBusinessHours => "get_business_hours",
            Self::CheckServiceAvailability => "check_service_availability",
            Self::BookAppointment => "book_appointment",
            Self::FindAppointments => "find_appointments",
            Self::CancelAppointment => "cancel_appointment",
            Self::RescheduleAppointment => "reschedule_appointment",
            Self::Unknown(name) => name,
        }
    }
}

impl std::fmt::Display for Tool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a tool call's arguments cannot be used. The messages are written to be read out to the
/// caller (or at least to the agent), so they name the field and the expected form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgError {
    /// The arguments were a string that is not valid JSON.
    #[error("the tool arguments could not be read ({detail})")]
    Garbled {
        /// The JSON parser's complaint.
        detail: String,
    },
    /// The arguments were valid JSON but not an object.
    #[error("the tool arguments must be an object, got {got}")]
    NotAnObject {
        /// The JSON kind that arrived instead.
        got: &'static str,
    },
    /// A required argument is absent or empty.
    #[error("missing {field} ({expected})")]
    Missing {
        /// The argument name.
        field: &'static str,
        /// The expected form, e.g. `YYYY-MM-DD`.
        expected: &'static str,
    },
    /// An argument is present but unusable.
    #[error("invalid {field} {got:?} (expected {expected})")]
    Invalid {
        /// The argument name.
        field: &'static str,
        /// The expected form.
        expected: &'static str,
        /// What arrived, shortened.
        got: String,
    },
    /// The tool name is not one of ours.
    #[error("unknown tool {0:?}")]
    UnknownTool(String),
}
