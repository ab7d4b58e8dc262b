-- The write-side booking guard (DESIGN.md §7): allocations that can never overlap, and idempotency keys.
-- Both are written in the same transaction as the booking events (the append hook), so they are exactly
-- as current as the event store; `voiceappoint verify allocations` re-derives `allocations` from the events.

-- Many test databases migrate at once on one server; extension creation is not concurrency-safe there.
do $$
begin
    create extension if not exists btree_gist;
exception
    when duplicate_object or unique_violation then null;
end
$$;

-- One row per booking that occupies a resource now: a confirmed appointment or a hold (live, or expired
-- but not yet released). `during` is the interval widened by the booking's own buffers, so two rows whose
-- widened intervals overlap on one resource cannot both exist (§7 rule 5, enforced by Postgres).
create table allocations (
    tenant_id uuid not null,
    -- The staff member, or the business itself when it has no staff.
    resource_id uuid not null,
    booking_id uuid not null,
    kind text not null,
    starts_at timestamptz not null,
    ends_at timestamptz not null,
    buffer_before_minutes integer not null,
    buffer_after_minutes integer not null,
    during tstzrange not null,
    -- Holds only: after this instant the hold no longer blocks and is released by the next booking that
    -- needs its interval (with a HoldExpired event in that booking's transaction).
    expires_at timestamptz,
    constraint allocations_pkey primary key (booking_id),
    constraint allocations_kind_check check (kind in ('appointment', 'hold')),
    constraint allocations_hold_expiry_check check ((kind = 'hold') = (expires_at is not null)),
    constraint allocations_no_overlap exclude using gist (
        tenant_id with =, resource_id with =, during with &&)
);
create index allocations_tenant_during on allocations using gist (tenant_id, during);

-- Idempotency-Key / Vapi tool-call id → the outcome first answered, so a retry gets the same answer.
create table idempotency_keys (
    tenant_id uuid not null,
    key text not null,
    -- sha256 of the canonical request: the same key with a different request is refused (422).
    request_hash bytea not null,
    status_code integer not null,
    response jsonb not null,
    booking_id uuid,
    created_at timestamptz not null,
    constraint idempotency_keys_pkey primary key (tenant_id, key)
);
