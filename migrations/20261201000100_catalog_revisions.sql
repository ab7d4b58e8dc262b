-- A counter per business that the catalog projector bumps in the same transaction as every change it makes
-- to that business's catalog rows (profile, hours, services, staff, members, agent, numbers). The API keeps
-- each business's catalog in memory and checks this one row per request instead of re-reading the catalog
-- tables: a different revision means the catalog changed and is read again. It holds no tenant data (an id and
-- a number), so it has no row-level security; rebuilding the projection recounts it from zero to the same
-- values, because it counts the business's catalog events.
create table catalog_revisions (
    tenant_id uuid primary key,
    revision bigint not null
);
