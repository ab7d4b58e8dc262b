-- Call log read model (projector `call_log`): one row per call, its tool invocations and transcript.

create table call_log (
    tenant_id uuid not null,
    call_id text not null,
    caller text,
    phone_number_id text,
    dialled_number text,
    status text not null,
    status_rank integer,
    started_at timestamptz,
    ended_at timestamptz,
    duration_ms bigint,
    ended_reason text,
    summary text,
    transcript text,
    recording_url text,
    cost_micros bigint,
    appointment_id uuid,
    tool_calls integer not null default 0,
    hangs integer not null default 0,
    first_seen_at timestamptz not null,
    updated_at timestamptz not null,
    constraint call_log_pkey primary key (call_id)
);
create index call_log_tenant_started_idx on call_log (tenant_id, first_seen_at desc);
select va_enable_tenant_rls('call_log');

create table call_tool_invocations (
    tenant_id uuid not null,
    call_id text not null,
    tool_call_id text not null,
    name text not null,
    arguments jsonb not null,
    outcome text not null,
    result text not null,
    latency_ms bigint not null,
    appointment_id uuid,
    occurred_at timestamptz not null,
    position bigint not null,
    constraint call_tool_invocations_pkey primary key (call_id, tool_call_id)
);
select va_enable_tenant_rls('call_tool_invocations');

create table call_transcript_lines (
    tenant_id uuid not null,
    call_id text not null,
    position bigint not null,
    role text not null,
    text text not null,
    occurred_at timestamptz not null,
    constraint call_transcript_lines_pkey primary key (call_id, position)
);
select va_enable_tenant_rls('call_transcript_lines');
