-- A vehicle changes status / price / mileage / features. The TOASTed
-- description is NOT touched, so with REPLICA IDENTITY DEFAULT Debezium sends
-- it as __debezium_unavailable_value.
\set vid random(:minv, :maxv)
\set r random(1, 100)
UPDATE vehicles SET
  status = CASE WHEN :r <= 10 THEN 'maintenance'
                WHEN status = 'available' THEN 'reserved'
                WHEN status = 'reserved' THEN CASE WHEN :r <= 70 THEN 'sold' ELSE 'available' END
                ELSE 'available' END::vehicle_status,
  price = CASE WHEN :r > 60 THEN (round(price * 0.97 / 10) * 10 - 10)::numeric(12,2) ELSE price END,
  mileage_km = mileage_km + :r * 1.5,
  features = CASE WHEN :r > 85 THEN jsonb_set(features, '{gps}', to_jsonb(NOT coalesce((features->>'gps')::boolean, false)))
                  ELSE features END,
  color = CASE WHEN :r = 100 THEN NULL WHEN color IS NULL THEN 'blanco' ELSE color END
WHERE vehicle_id = (SELECT vehicle_id FROM vehicles WHERE vehicle_id >= :vid ORDER BY vehicle_id LIMIT 1);
