-- A new customer signs up (some nullable columns left NULL).
\set r random(1, 100)
INSERT INTO customers (email, first_name, last_name, phone, birth_date, city, country_code,
                       marketing_opt_in, preferences, tags)
SELECT 'signup.' || gen_random_uuid() || '@example.com',
       (ARRAY['Alba','Hugo','Irene','Marc','Noa','Óscar','Rocío','Unai'])[1 + :r % 8],
       (ARRAY['Castro','Ortega','Rubio','Marín','Sanz','Núñez','Iglesias','Medina'])[1 + :r % 8],
       CASE WHEN :r <= 30 THEN NULL ELSE '+34 7' || lpad((:r * 104729)::text, 8, '0') END,
       CASE WHEN :r <= 50 THEN NULL ELSE date '1960-01-01' + :r * 150 END,
       CASE WHEN :r <= 20 THEN NULL ELSE 'Madrid' END,
       'ES',
       CASE WHEN :r <= 40 THEN NULL ELSE :r > 70 END,
       CASE WHEN :r <= 50 THEN NULL ELSE '{"newsletter": false}'::jsonb END,
       CASE WHEN :r <= 50 THEN NULL ELSE ARRAY['new'] END;
