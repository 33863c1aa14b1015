-- sluice e-commerce source schema (a car shop): customers, vehicles, orders,
-- order_items, payments. Run with psql:
--
--   psql "$SLUICE_PG_DSN" -v ON_ERROR_STOP=1 -f scripts/shop/schema.sql
--
-- psql variables (all optional, pass with -v name=value):
--   reset=1          drop the five tables, their types and the trigger
--                    function first (DESTROYS DATA; run it before a
--                    connector/publication is created on these tables).
--   part=tables      only types, tables and primary keys (scripts/shop/load
--                    uses this before a bulk load ...)
--   part=constraints ... and this after it: foreign keys, secondary and
--                    unique indexes, updated_at triggers.
--   part=all         (default) both.
-- Without reset everything is CREATE ... IF NOT EXISTS (or checked in a DO
-- block), so running it again is a no-op.
--
-- Conventions the rest of sluice relies on:
--   * keys are <entity>_id bigserial PRIMARY KEY;
--   * every table has created_at timestamptz NOT NULL DEFAULT now(), which
--     ClickHouse partitions by month and therefore must never change: the
--     BEFORE UPDATE trigger pins it to its old value; updated_at is bumped on
--     every UPDATE that does not set it explicitly;
--   * REPLICA IDENTITY DEFAULT (primary key) everywhere, so Debezium sends
--     unchanged TOASTed values (vehicles.description) as
--     __debezium_unavailable_value.

\if :{?part}
\else
\set part all
\endif
SELECT :'part' IN ('all', 'tables') AS shop_do_tables,
       :'part' IN ('all', 'constraints') AS shop_do_constraints
\gset
\if :{?reset}
\else
\set reset 0
\endif

SET client_min_messages = warning;

\if :reset
DROP TABLE IF EXISTS payments, order_items, orders, vehicles, customers CASCADE;
DROP TYPE IF EXISTS order_status, vehicle_status, payment_status CASCADE;
DROP FUNCTION IF EXISTS shop_touch_row() CASCADE;
\endif

\if :shop_do_tables
-- ---------------------------------------------------------------- types ---
DO $$
BEGIN
  CREATE TYPE order_status AS ENUM ('pending', 'confirmed', 'shipped', 'delivered', 'cancelled');
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
DO $$
BEGIN
  CREATE TYPE vehicle_status AS ENUM ('available', 'reserved', 'sold', 'maintenance');
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
DO $$
BEGIN
  CREATE TYPE payment_status AS ENUM ('pending', 'authorized', 'captured', 'failed', 'refunded');
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

-- --------------------------------------------------------------- tables ---
CREATE TABLE IF NOT EXISTS customers (
    customer_id       bigserial     PRIMARY KEY,
    email             varchar(255)  NOT NULL,
    first_name        varchar(80)   NOT NULL,
    last_name         varchar(80)   NOT NULL,
    phone             varchar(32),                      -- nullable
    birth_date        date,                             -- nullable
    city              varchar(80),                      -- nullable
    country_code      char(2)       NOT NULL DEFAULT 'ES',
    is_active         boolean       NOT NULL DEFAULT true,
    marketing_opt_in  boolean,                          -- nullable (unknown)
    loyalty_points    integer       NOT NULL DEFAULT 0,
    preferences       jsonb,                            -- nullable
    tags              text[],                           -- nullable; may be '{}'
    created_at        timestamptz   NOT NULL DEFAULT now(),
    updated_at        timestamptz   NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS vehicles (
    vehicle_id        bigserial      PRIMARY KEY,
    vin               varchar(17)    NOT NULL,
    make              varchar(40)    NOT NULL,
    model             varchar(60)    NOT NULL,
    year              smallint       NOT NULL,
    color             varchar(30),                      -- nullable
    fuel_type         varchar(20)    NOT NULL,
    price             numeric(12,2)  NOT NULL,
    mileage_km        double precision NOT NULL DEFAULT 0,
    status            vehicle_status NOT NULL DEFAULT 'available',
    is_new            boolean        NOT NULL DEFAULT false,
    registration_date date,                             -- NULL for new cars
    features          jsonb          NOT NULL DEFAULT '{}',
    description       text,                             -- large, TOASTed for some rows
    created_at        timestamptz    NOT NULL DEFAULT now(),
    updated_at        timestamptz    NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS orders (
    order_id          bigserial     PRIMARY KEY,
    order_uuid        uuid          NOT NULL DEFAULT gen_random_uuid(),
    customer_id       bigint        NOT NULL,           -- -> customers
    status            order_status  NOT NULL DEFAULT 'pending',
    order_date        timestamptz   NOT NULL DEFAULT now(),
    total_amount      numeric(12,2) NOT NULL DEFAULT 0,
    discount          numeric(12,2) NOT NULL DEFAULT 0,
    final_amount      numeric(12,2) NOT NULL DEFAULT 0,
    currency          char(3)       NOT NULL DEFAULT 'EUR',
    pickup_at         timestamp,                        -- local dealership time, nullable
    shipping_address  varchar(200),                     -- nullable (pickup orders)
    notes             text,                             -- nullable
    created_at        timestamptz   NOT NULL DEFAULT now(),
    updated_at        timestamptz   NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS order_items (
    order_item_id     bigserial     PRIMARY KEY,
    order_id          bigint        NOT NULL,           -- -> orders (cascade)
    vehicle_id        bigint        NOT NULL,           -- -> vehicles
    quantity          smallint      NOT NULL DEFAULT 1 CHECK (quantity > 0),
    unit_price        numeric(12,2) NOT NULL,
    discount          numeric(12,2) NOT NULL DEFAULT 0,
    line_total        numeric(12,2) NOT NULL,
    created_at        timestamptz   NOT NULL DEFAULT now(),
    updated_at        timestamptz   NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS payments (
    payment_id        bigserial      PRIMARY KEY,
    order_id          bigint         NOT NULL,          -- -> orders (cascade)
    transaction_uuid  uuid           NOT NULL DEFAULT gen_random_uuid(),
    method            varchar(20)    NOT NULL,          -- credit_card, debit_card, bank_transfer, paypal, financing
    status            payment_status NOT NULL DEFAULT 'pending',
    amount            numeric(12,2)  NOT NULL,
    currency          char(3)        NOT NULL DEFAULT 'EUR',
    paid_at           timestamptz,                      -- NULL until captured
    card_last4        char(4),                          -- NULL unless a card
    created_at        timestamptz    NOT NULL DEFAULT now(),
    updated_at        timestamptz    NOT NULL DEFAULT now()
);
\endif

\if :shop_do_constraints
-- ---------------------------------------------------------- foreign keys ---
DO $$
DECLARE
  fk record;
BEGIN
  FOR fk IN
    SELECT * FROM (VALUES
      ('orders',      'orders_customer_id_fkey',     'FOREIGN KEY (customer_id) REFERENCES customers (customer_id)'),
      ('order_items', 'order_items_order_id_fkey',   'FOREIGN KEY (order_id) REFERENCES orders (order_id) ON DELETE CASCADE'),
      ('order_items', 'order_items_vehicle_id_fkey', 'FOREIGN KEY (vehicle_id) REFERENCES vehicles (vehicle_id)'),
      ('payments',    'payments_order_id_fkey',      'FOREIGN KEY (order_id) REFERENCES orders (order_id) ON DELETE CASCADE')
    ) AS v(tbl, name, def)
  LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_constraint
                   WHERE conname = fk.name AND conrelid = fk.tbl::regclass) THEN
      EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I %s', fk.tbl, fk.name, fk.def);
    END IF;
  END LOOP;
END $$;

-- --------------------------------------------------------------- indexes ---
CREATE UNIQUE INDEX IF NOT EXISTS customers_email_key        ON customers (email);
CREATE UNIQUE INDEX IF NOT EXISTS vehicles_vin_key           ON vehicles (vin);
CREATE        INDEX IF NOT EXISTS vehicles_make_model_idx    ON vehicles (make, model);
CREATE UNIQUE INDEX IF NOT EXISTS orders_order_uuid_key      ON orders (order_uuid);
CREATE        INDEX IF NOT EXISTS orders_customer_id_idx     ON orders (customer_id);
CREATE        INDEX IF NOT EXISTS orders_order_date_idx      ON orders (order_date);
CREATE        INDEX IF NOT EXISTS order_items_order_id_idx   ON order_items (order_id);
CREATE        INDEX IF NOT EXISTS order_items_vehicle_id_idx ON order_items (vehicle_id);
CREATE UNIQUE INDEX IF NOT EXISTS payments_transaction_uuid_key ON payments (transaction_uuid);
CREATE        INDEX IF NOT EXISTS payments_order_id_idx      ON payments (order_id);

-- ------------------------------------------------ created_at / updated_at ---
CREATE OR REPLACE FUNCTION shop_touch_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.created_at := OLD.created_at;               -- immutable (CH partition key)
  IF NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN
    NEW.updated_at := now();
  END IF;
  RETURN NEW;
END $$;

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['customers', 'vehicles', 'orders', 'order_items', 'payments'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgname = t || '_touch' AND tgrelid = t::regclass) THEN
      EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE ON %I FOR EACH ROW EXECUTE FUNCTION shop_touch_row()',
                     t || '_touch', t);
    END IF;
  END LOOP;
END $$;
\endif
