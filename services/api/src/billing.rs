//! Billing over HTTP and for the finance commands: plans, usage and invoices from the billing projection,
//! the finance replay from the event store, reconciliation of the two, and closing a month.
//!
//! The arithmetic is `domain::billing` (pure); this module only gathers its input, from the projection
//! ([`read`]) or from the raw events ([`replay`]), and renders the result ([`render`]).

pub mod http;
pub mod ledger;
pub mod read;
pub mod render;
pub mod replay;
pub mod simulate;

pub use http::routes;
