-- A payment changes status: an open one (pending/authorized) is authorized,
-- captured or fails; 10% of the time a captured one is refunded.
SELECT max(payment_id) AS maxp FROM payments \gset
\set pid random(1, :maxp)
\set r random(1, 100)
UPDATE payments SET
  status = CASE WHEN status = 'captured' THEN 'refunded'
                WHEN :r <= 20 THEN 'failed'
                WHEN status = 'pending' AND :r <= 50 THEN 'authorized'
                ELSE 'captured' END::payment_status,
  paid_at = CASE WHEN status = 'captured' THEN paid_at
                 WHEN :r <= 20 OR (status = 'pending' AND :r <= 50) THEN NULL
                 ELSE now() END
WHERE payment_id = (SELECT payment_id FROM payments
                    WHERE payment_id >= :pid
                      AND status IN (CASE WHEN :r > 90 THEN 'captured' ELSE 'pending' END::payment_status,
                                     CASE WHEN :r > 90 THEN 'captured' ELSE 'authorized' END::payment_status)
                    ORDER BY payment_id LIMIT 1);
