-- A materialized view's query changes; it has an index that must survive.
-- @common
create table public.sales (id integer primary key, amount numeric not null, region text not null);
-- @a
create materialized view public.sales_by_region as select region, count(*) as n from public.sales group by region;
create unique index sales_by_region_idx on public.sales_by_region (region);
-- @b
create materialized view public.sales_by_region as
    select region, count(*) as n, sum(amount) as total from public.sales group by region;
create unique index sales_by_region_idx on public.sales_by_region (region);
