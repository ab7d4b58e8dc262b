//! The Vapi server-URL protocol (VAPI.md, DESIGN.md §8) as a pure library: no I/O, no clock.
//!
//! The webhook handler drives it in this order:
//!
//! 1. [`auth::verify`] over the raw body bytes, before anything is parsed;
//! 2. [`message::parse`] — lenient, keeps every unknown field, never fails on a single bad tool call;
//! 3. [`redact`] before the raw payload is stored or logged;
//! 4. [`tools::ToolArgs::parse`] per tool call, then [`response::ToolResults`] (or one of the other
//!    [`response`] builders) for the HTTP 200 body.

pub mod auth;
pub mod message;
pub mod redact;
pub mod response;
pub mod tools;

pub use auth::{AuthConfig, AuthError, HeaderLookup};
pub use message::{CallStatus, Message, MessageType, ParseError, ToolCall, parse};
pub use redact::redact;
pub use response::{AssistantResponse, ToolResults, validate_tool_response};
pub use tools::{ArgError, Tool, ToolArgs, tool_definitions};
