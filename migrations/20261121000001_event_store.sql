-- The event store: an append-only log of every event, one row per event, chained per stream.

-- Identity of this event store. Several stores (every test database, staging and production) may share
-- one NATS server; the relay and projectors use store_id to never mix up their messages. epoch is bumped
-- when the store is restored into another cluster, where transaction ids start again from a low value.
create table event_store_meta (
    singleton boolean primary key default true check (singleton),
    store_id uuid not null default gen_random_uuid(),
    epoch integer not null default 0
);
insert into event_store_meta default values;

create table streams (
    stream_id text primary key,
    version bigint not null check (version >= 0),
    tenant_id uuid,
    head_hash bytea not null,
    updated_at timestamptz not null
);

create table events (
    global_position bigint generated always as identity,
    epoch integer not null,
    -- The id of the transaction that appended the event. The feed is ordered by (epoch, tx_id, position)
    -- and only read below the oldest running transaction, so an event committed late is never skipped.
    tx_id xid8 not null default pg_current_xact_id(),
    event_id uuid not null,
    stream_id text not null,
    stream_version bigint not null check (stream_version >= 1),
    event_type text not null,
    schema_version integer not null,
    tenant_id uuid,
    data jsonb not null,
    metadata jsonb not null,
    recorded_at timestamptz not null,
    prev_hash bytea not null,
    hash bytea not null,
    constraint events_pkey primary key (global_position),
    constraint events_event_id_key unique (event_id),
    constraint events_stream_version_key unique (stream_id, stream_version)
);

create index events_feed_idx on events (epoch, tx_id, global_position);
create index events_tenant_idx on events (tenant_id, global_position);

-- Immutability: no role may change or remove a stored event. (A superuser can still bypass triggers with
-- session_replication_role = replica — which is exactly what the tamper test does, and what
-- `voiceappoint audit verify` then catches.)
create function events_are_immutable() returns trigger language plpgsql as $$
begin
    raise exception 'events are immutable: % is not allowed on the event store', tg_op
        using errcode = 'insufficient_privilege';
end;
$$;

create trigger events_no_update before update or delete on events
    for each row execute function events_are_immutable();
create trigger events_no_truncate before truncate on events
    for each statement execute function events_are_immutable();
