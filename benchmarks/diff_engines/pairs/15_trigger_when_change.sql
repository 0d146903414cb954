-- A trigger's WHEN condition changes.
-- @common
create table public.stock (id integer primary key, qty integer not null);
create function public.stock_guard() returns trigger language plpgsql as $$ begin return new; end $$;
-- @a
create trigger stock_guard before update on public.stock
    for each row when (new.qty < 0) execute function public.stock_guard();
-- @b
create trigger stock_guard before update on public.stock
    for each row when (new.qty < 0 or new.qty > 1000) execute function public.stock_guard();
