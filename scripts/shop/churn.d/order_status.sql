-- An open order moves on (pending -> confirmed -> shipped -> delivered) or,
-- 5% of the time, is cancelled; its payments follow (captured on
-- confirmation, refunded/failed on cancellation). Locks the order row before
-- its payments, like delete_order.sql, so the two cannot deadlock.
SELECT max(order_id) AS maxo FROM orders \gset
\set oid random(1, :maxo)
\set r random(1, 100)
WITH o AS (
  UPDATE orders SET status = CASE WHEN :r <= 5 THEN 'cancelled'
                                  WHEN status = 'pending' THEN 'confirmed'
                                  WHEN status = 'confirmed' THEN 'shipped'
                                  ELSE 'delivered' END::order_status
  WHERE order_id = (SELECT order_id FROM orders
                    WHERE order_id >= :oid AND status IN ('pending', 'confirmed', 'shipped')
                    ORDER BY order_id LIMIT 1)
    AND status IN ('pending', 'confirmed', 'shipped')
  RETURNING order_id, status
), p AS (
  SELECT p.payment_id,
         CASE WHEN o.status = 'cancelled' AND p.status = 'captured' THEN 'refunded'
              WHEN o.status = 'cancelled' THEN 'failed'
              WHEN o.status = 'confirmed' AND p.status IN ('pending', 'authorized') THEN 'captured'
         END::payment_status AS new_status
  FROM payments p JOIN o USING (order_id)
  WHERE p.status IN ('pending', 'authorized', 'captured')
)
UPDATE payments SET status = p.new_status,
                    paid_at = CASE WHEN p.new_status IN ('captured', 'refunded') THEN now() ELSE paid_at END
FROM p
WHERE payments.payment_id = p.payment_id AND p.new_status IS NOT NULL;
