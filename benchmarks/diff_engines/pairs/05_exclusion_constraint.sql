-- An exclusion constraint (gist, range overlap) is added.
-- @common
create table public.bookings (id integer primary key, during tsrange not null);
-- @a
-- @b
alter table public.bookings add constraint bookings_no_overlap exclude using gist (during with &&);
