-- Projector bookkeeping and the shared row-level-security rule for read models.

-- Where each projector stands in the feed; updated in the same transaction as its read-model changes.
create table projector_checkpoints (
    projector text primary key,
    epoch integer not null default 0,
    tx_id bigint not null default 0,
    global_position bigint not null default 0,
    -- The JetStream sequence of the last message handled; the runner resumes right after it.
    stream_seq bigint not null default 0,
    last_recorded_at timestamptz,
    updated_at timestamptz not null default now()
);

-- The last applied version of every stream, per projector: redeliveries are skipped and a gap in a
-- stream (which the gap-safe feed should make impossible) stops the projector instead of corrupting it.
create table projector_stream_versions (
    projector text not null,
    stream_id text not null,
    version bigint not null,
    constraint projector_stream_versions_pkey primary key (projector, stream_id)
);

-- Every read-model table carries tenant_id and this policy. The request's tenant is set per transaction
-- with `set local va.tenant_id = '<uuid>'`; projectors and platform roles use '*'. A query that forgets
-- its tenant filter still sees nothing of another tenant.
create function va_enable_tenant_rls(tbl regclass) returns void language plpgsql as $$
begin
    execute format('alter table %s enable row level security', tbl);
    execute format('alter table %s force row level security', tbl);
    execute format(
        'create policy tenant_isolation on %s using ('
        || 'current_setting(''va.tenant_id'', true) = ''*'' '
        || 'or tenant_id = nullif(current_setting(''va.tenant_id'', true), '''')::uuid)',
        tbl);
end;
$$;

-- The first read model: events per tenant, stream kind and type (and the runtime's end-to-end check).
create table event_counts (
    tenant_id uuid not null,
    stream_kind text not null,
    event_type text not null,
    events bigint not null,
    last_recorded_at timestamptz not null,
    constraint event_counts_pkey primary key (tenant_id, stream_kind, event_type)
);
select va_enable_tenant_rls('event_counts');
