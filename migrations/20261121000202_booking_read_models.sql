-- Booking read models (DESIGN.md §5): busy intervals per staff member for availability, appointments for
-- listing, clients for finding a caller again by phone. Fed by projectors; rebuilt from the events.

-- What blocks a resource, as the availability endpoint sees it: appointments and holds (a hold past its
-- `expires_at` is ignored by queries until its HoldExpired event removes it).
create table availability_busy (
    tenant_id uuid not null,
    booking_id uuid not null,
    -- The staff member; null = the business itself (a business without staff).
    staff_id uuid,
    kind text not null,
    starts_at timestamptz not null,
    ends_at timestamptz not null,
    buffer_before_minutes integer not null,
    buffer_after_minutes integer not null,
    expires_at timestamptz,
    constraint availability_busy_pkey primary key (booking_id)
);
create index availability_busy_tenant_time on availability_busy (tenant_id, ends_at);
select va_enable_tenant_rls('availability_busy');

create table appointments (
    tenant_id uuid not null,
    booking_id uuid not null,
    service_id uuid not null,
    staff_id uuid,
    client_id uuid,
    status text not null,
    starts_at timestamptz not null,
    ends_at timestamptz not null,
    notes text,
    booked_at timestamptz not null,
    updated_at timestamptz not null,
    constraint appointments_pkey primary key (booking_id)
);
create index appointments_tenant_start on appointments (tenant_id, starts_at);
create index appointments_tenant_client on appointments (tenant_id, client_id);
select va_enable_tenant_rls('appointments');

create table clients (
    tenant_id uuid not null,
    client_id uuid not null,
    name text not null,
    phone text,
    email text,
    updated_at timestamptz not null,
    constraint clients_pkey primary key (client_id)
);
create index clients_tenant_phone on clients (tenant_id, phone);
select va_enable_tenant_rls('clients');
