//! The slot engine (DESIGN.md §7). Filled in by the scheduling work.
