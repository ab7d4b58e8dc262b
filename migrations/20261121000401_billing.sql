-- Billing read model (projector `billing`): what an invoice is computed from, kept per tenant so the API can
-- answer usage and invoice requests without replaying the event store. `voiceappoint billing reconcile`
-- compares invoices computed from these tables with invoices replayed from the events.

create table billing_accounts (
    tenant_id uuid not null,
    slug text not null,
    registered_on date not null,
    constraint billing_accounts_pkey primary key (tenant_id)
);
select va_enable_tenant_rls('billing_accounts');

-- PlanAssigned in business-stream order (stream_version).
create table billing_plan_changes (
    tenant_id uuid not null,
    stream_version bigint not null,
    effective_from date not null,
    plan text not null,
    constraint billing_plan_changes_pkey primary key (tenant_id, stream_version)
);
select va_enable_tenant_rls('billing_plan_changes');

-- Phone-number holdings: one row per NumberAssigned, closed by NumberReleased / NumberSuspended.
create table billing_number_holds (
    tenant_id uuid not null,
    number text not null,
    stream_version bigint not null,
    held_from date not null,
    held_to date,
    constraint billing_number_holds_pkey primary key (number, stream_version)
);
create index billing_number_holds_tenant_idx on billing_number_holds (tenant_id);
select va_enable_tenant_rls('billing_number_holds');

-- UsageRecorded summed per tenant, UTC day and kind (billable units: voice rounded up per call).
create table billing_usage_daily (
    tenant_id uuid not null,
    day date not null,
    kind text not null,
    events bigint not null,
    quantity bigint not null,
    billable_units bigint not null,
    provider_cost_micros bigint not null,
    constraint billing_usage_daily_pkey primary key (tenant_id, day, kind)
);
select va_enable_tenant_rls('billing_usage_daily');

-- InvoiceIssued: months that were closed.
create table billing_invoices (
    tenant_id uuid not null,
    period text not null,
    currency text not null,
    total_minor bigint not null,
    usage_events bigint not null,
    usage_hash text not null,
    invoice_hash text not null,
    issued_at timestamptz not null,
    constraint billing_invoices_pkey primary key (tenant_id, period)
);
select va_enable_tenant_rls('billing_invoices');
