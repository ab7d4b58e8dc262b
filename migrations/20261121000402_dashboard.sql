-- Dashboard read model (projector `dashboard`): per-business counters per local day and hour, plus the
-- little state the projector keeps to stay self-contained (business zones, service prices, which day a
-- call or a booking was counted on). Attribution rules are documented in projections/src/dashboard.rs.

-- Business zone and currency, from BusinessRegistered / BusinessProfileUpdated.
create table dashboard_businesses (
    tenant_id uuid not null,
    timezone text not null,
    currency text not null,
    constraint dashboard_businesses_pkey primary key (tenant_id)
);
select va_enable_tenant_rls('dashboard_businesses');

-- Service prices, from ServiceAdded / ServiceUpdated (a retired service keeps its last price).
create table dashboard_services (
    tenant_id uuid not null,
    service_id uuid not null,
    price_minor bigint not null,
    constraint dashboard_services_pkey primary key (service_id)
);
select va_enable_tenant_rls('dashboard_services');

-- One row per call: the local day and hour it counts on, and what it already contributed there.
create table dashboard_calls (
    tenant_id uuid not null,
    call_id text not null,
    day date not null,
    hour smallint not null,
    answered boolean not null default false,
    duration_ms bigint,
    voice_seconds bigint not null default 0,
    constraint dashboard_calls_pkey primary key (call_id)
);
select va_enable_tenant_rls('dashboard_calls');

-- One row per booked appointment: the local day it counts on and the revenue it added there.
create table dashboard_bookings (
    tenant_id uuid not null,
    booking_id uuid not null,
    day date not null,
    revenue_minor bigint not null,
    cancelled boolean not null default false,
    constraint dashboard_bookings_pkey primary key (booking_id)
);
select va_enable_tenant_rls('dashboard_bookings');

-- The counters, per business per local day.
create table dashboard_days (
    tenant_id uuid not null,
    day date not null,
    calls bigint not null default 0,
    answered bigint not null default 0,
    -- Calls with a known duration, and the sum of those durations (the average divides one by the other).
    timed_calls bigint not null default 0,
    duration_ms bigint not null default 0,
    tool_calls bigint not null default 0,
    availability_checks bigint not null default 0,
    bookings bigint not null default 0,
    cancellations bigint not null default 0,
    voice_minutes bigint not null default 0,
    revenue_minor bigint not null default 0,
    constraint dashboard_days_pkey primary key (tenant_id, day)
);
select va_enable_tenant_rls('dashboard_days');

-- Calls per local hour of the day (0–23), for "busiest hours" over any range of days.
create table dashboard_hours (
    tenant_id uuid not null,
    day date not null,
    hour smallint not null,
    calls bigint not null default 0,
    constraint dashboard_hours_pkey primary key (tenant_id, day, hour),
    constraint dashboard_hours_hour_check check (hour between 0 and 23)
);
select va_enable_tenant_rls('dashboard_hours');
