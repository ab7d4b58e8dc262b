-- Row-level security evaluated once per query instead of once per row. The policy called
-- va_tenant_matches(tenant_id), an inlined SQL function whose CASE runs a case-insensitive regular
-- expression over the setting for every row a query visits: `explain analyze` of one availability question
-- (504 rows visited) took 19 ms, nearly all of it the policy. The setting is the same for the whole query, so
-- the policy now reads it through uncorrelated sub-selects, which Postgres evaluates once per execution
-- (init plans), and compares one uuid per row. Same meaning as before: '*' (the platform context) sees every
-- row, a uuid sees that tenant's rows, anything else sees none, and a setting that is not a uuid is never
-- cast.
create or replace function va_context_is_platform() returns boolean language sql stable as $$
    select coalesce(current_setting('va.tenant_id', true) = '*', false)
$$;

create or replace function va_context_tenant() returns uuid language sql stable as $$
    select case
        when current_setting('va.tenant_id', true) ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
            then current_setting('va.tenant_id', true)::uuid
    end
$$;

create or replace function va_enable_tenant_rls(tbl regclass) returns void language plpgsql as $$
begin
    execute format('alter table %s enable row level security', tbl);
    execute format('alter table %s force row level security', tbl);
    execute format('drop policy if exists tenant_isolation on %s', tbl);
    execute format('create policy tenant_isolation on %s using '
                   '((select va_context_is_platform()) or tenant_id = (select va_context_tenant()))', tbl);
end;
$$;

do $$
declare
    t record;
begin
    for t in select schemaname, tablename from pg_policies where policyname = 'tenant_isolation' loop
        execute format('alter policy tenant_isolation on %I.%I using '
                       '((select va_context_is_platform()) or tenant_id = (select va_context_tenant()))',
                       t.schemaname, t.tablename);
    end loop;
end
$$;
