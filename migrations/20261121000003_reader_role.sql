-- The role API queries run under (`set local role va_reader` + `va.tenant_id`), so row-level security
-- applies even when the process connects as a superuser or as the tables' owner. Roles are cluster-wide
-- and many databases (tests) may run this at once, hence the tolerant create.
do $$
begin
    create role va_reader nologin;
exception
    when duplicate_object or unique_violation then null;
end
$$;

grant usage on schema public to va_reader;
grant select on all tables in schema public to va_reader;
alter default privileges in schema public grant select on tables to va_reader;
