-- Row-level security, fixed for the platform context. The first policy compared
-- `tenant_id = nullif(current_setting('va.tenant_id', true), '')::uuid`, and Postgres may evaluate both
-- sides of the `or`, so with va.tenant_id = '*' (projectors, the number directory, a user's own
-- memberships) the cast failed: "invalid input syntax for type uuid". A CASE guards the cast (Postgres
-- does not evaluate an untaken branch of a non-constant CASE), and anything that is not a uuid or '*'
-- matches no row.
create or replace function va_tenant_matches(tenant uuid) returns boolean language sql stable as $$
    select case
        when current_setting('va.tenant_id', true) = '*' then true
        when current_setting('va.tenant_id', true) ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
            then tenant = current_setting('va.tenant_id', true)::uuid
        else false
    end
$$;

create or replace function va_enable_tenant_rls(tbl regclass) returns void language plpgsql as $$
begin
    execute format('alter table %s enable row level security', tbl);
    execute format('alter table %s force row level security', tbl);
    execute format('drop policy if exists tenant_isolation on %s', tbl);
    execute format('create policy tenant_isolation on %s using (va_tenant_matches(tenant_id))', tbl);
end;
$$;

-- Re-point every policy made with the first version.
do $$
declare
    t record;
begin
    for t in select schemaname, tablename from pg_policies where policyname = 'tenant_isolation' loop
        execute format('alter policy tenant_isolation on %I.%I using (va_tenant_matches(tenant_id))',
                       t.schemaname, t.tablename);
    end loop;
end
$$;
