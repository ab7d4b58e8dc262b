-- The webhook looks a number up by Vapi's phone-number id when it is not in the in-memory directory yet
-- (assigned by another instance less than a refresh ago); one indexed row instead of a directory reload.
create index catalog_phone_numbers_provider_idx on catalog_phone_numbers (provider_phone_number_id);
