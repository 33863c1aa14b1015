-- An order is removed with its children, children first (the FKs would
-- cascade anyway). The order row is locked first, like order_status.sql.
SELECT max(order_id) AS maxo FROM orders \gset
\set oid random(1, :maxo)
BEGIN;
SELECT coalesce((SELECT order_id FROM orders WHERE order_id >= :oid ORDER BY order_id LIMIT 1), 0) AS target \gset
SELECT 1 FROM orders WHERE order_id = :target FOR UPDATE;
DELETE FROM payments WHERE order_id = :target;
DELETE FROM order_items WHERE order_id = :target;
DELETE FROM orders WHERE order_id = :target;
END;
