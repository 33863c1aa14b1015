-- A customer edits their profile. Nullable columns go to NULL and back
-- (phone, preferences, tags, marketing_opt_in); jsonb and text[] change.
\set cid random(:minc, :maxc)
\set r random(1, 100)
UPDATE customers SET
  phone = CASE WHEN :r <= 40 THEN
                 CASE WHEN phone IS NULL THEN '+34 6' || lpad((customer_id * 7919 % 100000000)::text, 8, '0') END
               ELSE phone END,
  preferences = CASE WHEN :r > 40 AND :r <= 60 THEN
                       CASE WHEN preferences IS NULL THEN '{"newsletter": true, "contact": "email"}'::jsonb END
                     WHEN :r > 60 AND :r <= 80 THEN
                       jsonb_set(coalesce(preferences, '{}'::jsonb), '{budget_max}', to_jsonb(:r * 1000))
                     ELSE preferences END,
  tags = CASE WHEN :r > 80 THEN
                CASE WHEN tags IS NULL THEN '{}'::text[]
                     WHEN cardinality(tags) >= 3 THEN NULL
                     ELSE array_append(tags, 'churn') END
              ELSE tags END,
  marketing_opt_in = CASE WHEN :r % 7 = 0 THEN
                       CASE WHEN marketing_opt_in IS NULL THEN true WHEN marketing_opt_in THEN false END
                     ELSE marketing_opt_in END,
  loyalty_points = loyalty_points + :r,
  is_active = CASE WHEN :r = 1 THEN NOT is_active ELSE is_active END
WHERE customer_id = (SELECT customer_id FROM customers WHERE customer_id >= :cid ORDER BY customer_id LIMIT 1);
