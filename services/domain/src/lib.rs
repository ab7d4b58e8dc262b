//! Pure business decisions for `VoiceAppoint`: no I/O, time and ids come in as arguments.

pub mod billing;
pub mod booking;
pub mod call;
pub mod catalog;
pub mod scheduling;
pub mod tenancy;
