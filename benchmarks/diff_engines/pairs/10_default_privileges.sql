-- Default privileges for future tables and functions in a schema.
-- @a
-- @b
alter default privileges in schema public grant select on tables to e_eval_anon;
alter default privileges in schema public grant execute on functions to e_eval_authenticated;
