-- A customer places a new order: 1-3 order_items and a pending payment, in
-- one statement (data-modifying CTEs, so FKs hold at the end of it).
-- ON CONFLICT: the order_id this statement takes from the sequence is a hole
-- to reinsert_order.sql until this statement commits, so a concurrent
-- reinsert can fill it first; then this order is not placed (its items and
-- payment follow the RETURNING, so none are either) instead of the client
-- aborting on orders_pkey.
\set cid random(:minc, :maxc)
\set nitems random(1, 3)
\set v1 random(:minv, :maxv)
\set v2 random(:minv, :maxv)
\set v3 random(:minv, :maxv)
\set q1 random(1, 10)
\set q2 random(1, 10)
\set m random(1, 8)
\set pickup random(1, 10)
WITH c AS (
  SELECT customer_id, city FROM customers WHERE customer_id >= :cid ORDER BY customer_id LIMIT 1
), v AS (
  SELECT v.vehicle_id, v.price, x.q
  FROM (VALUES (:v1::bigint, CASE WHEN :q1 = 10 THEN 2 ELSE 1 END),
               (CASE WHEN :nitems >= 2 THEN :v2::bigint END, CASE WHEN :q2 = 10 THEN 2 ELSE 1 END),
               (CASE WHEN :nitems >= 3 THEN :v3::bigint END, 1)) AS x(want, q)
  CROSS JOIN LATERAL (SELECT vehicle_id, price FROM vehicles
                      WHERE vehicle_id >= x.want ORDER BY vehicle_id LIMIT 1) v
), o AS (
  INSERT INTO orders (customer_id, status, order_date, total_amount, discount, final_amount,
                      pickup_at, shipping_address)
  SELECT c.customer_id, 'pending', now(), t.total, 0, t.total,
         CASE WHEN :pickup <= 4 THEN date_trunc('hour', localtimestamp) + interval '3 days' END,
         CASE WHEN :pickup > 4 THEN 'Calle Nueva ' || :cid || ', ' || coalesce(c.city, 'Madrid') END
  FROM c, (SELECT sum(price * q) AS total FROM v) t
  WHERE t.total IS NOT NULL
  ON CONFLICT (order_id) DO NOTHING
  RETURNING order_id, final_amount, currency
), i AS (
  INSERT INTO order_items (order_id, vehicle_id, quantity, unit_price, line_total)
  SELECT o.order_id, v.vehicle_id, v.q, v.price, v.price * v.q FROM o, v
)
INSERT INTO payments (order_id, method, status, amount, currency, card_last4)
SELECT o.order_id,
       (ARRAY['credit_card','credit_card','credit_card','debit_card','debit_card',
              'bank_transfer','paypal','financing'])[:m],
       'pending', o.final_amount, o.currency,
       CASE WHEN :m <= 5 THEN lpad((:cid * 7 % 10000)::text, 4, '0') END
FROM o;
