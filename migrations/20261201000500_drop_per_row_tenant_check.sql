-- No policy calls va_tenant_matches since 20261201000400 (every tenant_isolation policy now reads the
-- setting once per query); drop it rather than leave a second spelling of the tenant check.
drop function va_tenant_matches(uuid);
