-- The auditors' call index (`GET /audit/calls`): the first event of every call stream, by when it was
-- recorded. Partial, so it holds one small entry per call rather than one per event.
create index events_call_starts_idx on events (recorded_at, global_position)
    where stream_version = 1 and stream_id like 'call-%';
