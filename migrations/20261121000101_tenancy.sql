-- Tenancy and catalog: write-side uniqueness guards (written in the same transaction as the events that
-- need them) and the catalog read models (fed by the `catalog` projector, row-level secured).

-- Write side. Credentials are kept out of the event log: the log is immutable and auditors read it, and a
-- password hash is a secret. The email's uniqueness across user streams is enforced here.
create table user_credentials (
    user_id uuid not null,
    email text not null,
    password_hash text not null,
    created_at timestamptz not null,
    constraint user_credentials_pkey primary key (user_id),
    constraint user_credentials_email_key unique (email)
);
-- Read-model grants are made by default privileges; the reader role never sees password hashes.
revoke all on user_credentials from va_reader;

-- A slug names exactly one business, for good.
create table business_slugs (
    slug text not null,
    business_id uuid not null,
    constraint business_slugs_pkey primary key (slug),
    constraint business_slugs_business_key unique (business_id)
);

-- A pool number belongs to at most one business, and a business holds at most one number.
create table number_claims (
    number text not null,
    business_id uuid not null,
    claimed_at timestamptz not null,
    constraint number_claims_pkey primary key (number),
    constraint number_claims_business_key unique (business_id)
);

-- Read models (projector `catalog`). tenant_id is the business id.
create table catalog_businesses (
    tenant_id uuid not null,
    slug text not null,
    name text not null,
    business_type text not null,
    timezone text not null,
    locale text not null,
    currency text not null,
    voice_booking_enabled boolean not null,
    -- {"mon": [["09:00","17:00"]], …}; null until hours are first set.
    weekly_hours jsonb,
    phone_number text,
    provider_phone_number_id text,
    registered_at timestamptz not null,
    updated_at timestamptz not null,
    constraint catalog_businesses_pkey primary key (tenant_id),
    constraint catalog_businesses_slug_key unique (slug)
);
select va_enable_tenant_rls('catalog_businesses');

create table catalog_date_overrides (
    tenant_id uuid not null,
    date date not null,
    intervals jsonb not null,
    constraint catalog_date_overrides_pkey primary key (tenant_id, date)
);
select va_enable_tenant_rls('catalog_date_overrides');

create table catalog_members (
    tenant_id uuid not null,
    user_id uuid not null,
    email text not null,
    role text not null,
    added_at timestamptz not null,
    constraint catalog_members_pkey primary key (tenant_id, user_id)
);
create index catalog_members_user_idx on catalog_members (user_id);
select va_enable_tenant_rls('catalog_members');

create table catalog_agents (
    tenant_id uuid not null,
    name text not null,
    greeting text not null,
    voice_id text,
    personality text,
    instructions text,
    updated_at timestamptz not null,
    constraint catalog_agents_pkey primary key (tenant_id)
);
select va_enable_tenant_rls('catalog_agents');

create table catalog_services (
    service_id uuid not null,
    tenant_id uuid not null,
    name text not null,
    duration_minutes integer not null,
    price_minor bigint not null,
    currency text not null,
    slot_step_minutes integer,
    buffer_before_minutes integer not null,
    buffer_after_minutes integer not null,
    min_notice_minutes integer not null,
    horizon_days integer not null,
    voice_booking_enabled boolean not null,
    retired boolean not null default false,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    constraint catalog_services_pkey primary key (service_id)
);
create index catalog_services_tenant_idx on catalog_services (tenant_id);
select va_enable_tenant_rls('catalog_services');

create table catalog_staff (
    staff_id uuid not null,
    tenant_id uuid not null,
    name text not null,
    service_ids uuid[] not null default '{}',
    -- null = works the business hours.
    weekly_hours jsonb,
    overrides jsonb not null default '{}',
    removed boolean not null default false,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    constraint catalog_staff_pkey primary key (staff_id)
);
create index catalog_staff_tenant_idx on catalog_staff (tenant_id);
select va_enable_tenant_rls('catalog_staff');

-- Pool numbers have no tenant until assigned: tenants see only their own number, and listing the
-- available pool is a platform query (va.tenant_id = '*') restricted to status 'available'.
create table catalog_phone_numbers (
    number text not null,
    tenant_id uuid,
    provider_phone_number_id text not null,
    area_code text not null,
    locality text not null,
    region text not null,
    status text not null,
    updated_at timestamptz not null,
    constraint catalog_phone_numbers_pkey primary key (number)
);
create index catalog_phone_numbers_available_idx on catalog_phone_numbers (area_code)
    where status = 'available';
select va_enable_tenant_rls('catalog_phone_numbers');
