//! The Vapi server-URL protocol (VAPI.md). Filled in by the webhook work.
