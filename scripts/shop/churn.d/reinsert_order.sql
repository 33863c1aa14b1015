-- A previously deleted order key comes back: find the first hole in
-- orders.order_id after a random point (holes come from delete_order.sql) and
-- insert a new order with exactly that order_id, with an item and a payment.
-- If there is no hole within 5000 ids nothing happens. ON CONFLICT makes two
-- clients racing for the same hole harmless. A hole can also be the id of a
-- new_order.sql statement that has not committed yet; whichever inserts it
-- second does nothing (both have ON CONFLICT (order_id) DO NOTHING).
SELECT max(order_id) AS maxo FROM orders \gset
\set oid random(1, :maxo)
\set cid random(:minc, :maxc)
\set v1 random(:minv, :maxv)
SELECT coalesce((SELECT o.order_id + 1 FROM orders o
                 WHERE o.order_id >= :oid AND o.order_id < :maxo AND o.order_id < :oid + 5000
                   AND NOT EXISTS (SELECT 1 FROM orders x WHERE x.order_id = o.order_id + 1)
                 ORDER BY o.order_id LIMIT 1), 0) AS gap \gset
WITH c AS (
  SELECT customer_id FROM customers WHERE customer_id >= :cid ORDER BY customer_id LIMIT 1
), v AS (
  SELECT vehicle_id, price FROM vehicles WHERE vehicle_id >= :v1 ORDER BY vehicle_id LIMIT 1
), o AS (
  INSERT INTO orders (order_id, customer_id, status, order_date, total_amount, discount, final_amount, notes)
  SELECT :gap, c.customer_id, 'confirmed', now(), v.price, 0, v.price, 'Pedido restaurado'
  FROM c, v
  WHERE :gap > 0
  ON CONFLICT (order_id) DO NOTHING
  RETURNING order_id, final_amount, currency
), i AS (
  INSERT INTO order_items (order_id, vehicle_id, quantity, unit_price, line_total)
  SELECT o.order_id, v.vehicle_id, 1, v.price, v.price FROM o, v
)
INSERT INTO payments (order_id, method, status, amount, currency, paid_at)
SELECT o.order_id, 'bank_transfer', 'captured', o.final_amount, o.currency, now() FROM o;
