-- An order's amounts change: a discount is granted (or removed), a line's
-- quantity changes and the totals are recomputed; the pending payment follows.
-- Also flips the local pickup time (timestamp without time zone) on or off.
SELECT max(order_id) AS maxo FROM orders \gset
\set oid random(1, :maxo)
\set pct random(0, 12)
\set r random(1, 100)
BEGIN;
SELECT coalesce((SELECT order_id FROM orders WHERE order_id >= :oid ORDER BY order_id LIMIT 1), 0) AS target \gset
SELECT 1 FROM orders WHERE order_id = :target FOR UPDATE;
UPDATE order_items SET quantity = CASE WHEN quantity = 1 THEN 2 ELSE 1 END,
                       line_total = unit_price * CASE WHEN quantity = 1 THEN 2 ELSE 1 END
WHERE :r <= 30
  AND order_item_id = (SELECT min(order_item_id) FROM order_items WHERE order_id = :target);
UPDATE orders o SET total_amount = t.total,
                    discount = round(t.total * :pct / 100.0, 2),
                    final_amount = t.total - round(t.total * :pct / 100.0, 2),
                    pickup_at = CASE WHEN :r > 70 THEN
                                  CASE WHEN o.pickup_at IS NULL THEN date_trunc('hour', localtimestamp) + interval '2 days' END
                                ELSE o.pickup_at END,
                    notes = CASE WHEN :pct > 0 THEN 'Descuento ' || :pct || '% aplicado' ELSE o.notes END
FROM (SELECT sum(line_total) AS total FROM order_items WHERE order_id = :target) t
WHERE o.order_id = :target AND t.total IS NOT NULL;
UPDATE payments p SET amount = o.final_amount
FROM orders o
WHERE o.order_id = :target AND p.order_id = o.order_id
  AND p.status IN ('pending', 'authorized') AND p.amount <> o.final_amount;
END;
