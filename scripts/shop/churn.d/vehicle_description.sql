-- A vehicle's description is rewritten: mostly a new > 4 KB incompressible
-- report (stored out of line in TOAST), sometimes a short text or NULL.
\set vid random(:minv, :maxv)
\set r random(1, 100)
UPDATE vehicles SET description =
  CASE WHEN :r <= 70 THEN
         format(E'%s %s (%s). Informe de inspección actualizado.\n', make, model, year)
         || (SELECT string_agg(md5(random()::text || :vid || i), ' ') FROM generate_series(1, 130 + :r) i)
       WHEN :r <= 90 THEN format('%s %s de %s. Precio rebajado, %s km.', make, model, year, round(mileage_km))
       ELSE NULL END
WHERE vehicle_id = (SELECT vehicle_id FROM vehicles WHERE vehicle_id >= :vid ORDER BY vehicle_id LIMIT 1);
