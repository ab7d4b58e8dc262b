-- Projectors no longer keep every stream's last applied version: events arrive in feed order, so an event's
-- previous version was applied exactly when it lies at or below the checkpoint or earlier in the same
-- batch, which the runtime checks against the events table (projections/src/runtime.rs). The table held a
-- row per stream and projector that read it, growing with every booking and call.
drop table projector_stream_versions;
