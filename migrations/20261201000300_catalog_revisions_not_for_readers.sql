-- `catalog_revisions` is write-side bookkeeping read by the API's own role (the access check), like `streams`;
-- it has no row-level security, so the tenant-scoped reader role must not see it (it lists every business id).
revoke all on catalog_revisions from va_reader;
