//! The event catalog: the envelope every stored event shares, stream ids, and the upcasting hook.
//!
//! Events are stored as `(event_type, schema_version, data)`. The `event_type` string of an event never
//! changes once it has been written; its shape evolves by bumping `schema_version` and registering an
//! upcaster (see [`upcast`]) that turns old payloads into the current shape when they are read.

pub mod envelope;
pub mod stream;
pub mod upcast;

pub use envelope::{Actor, EventData, FeedPosition, Metadata, NewEvent, StoredEvent};
pub use stream::{StreamId, StreamKind};
pub use upcast::{Upcaster, Upcasters};
pub mod clock;
pub use clock::{Clock, SystemClock};
pub mod aggregate;
pub use aggregate::Aggregate;
pub mod billing;
pub mod booking;
pub mod call;
pub mod catalog;
pub mod client;
