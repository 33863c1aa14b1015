//go:build integration

package snapshot

import (
	"context"
	"fmt"
	"testing"
)

// Decimals take the stream's wire shortcut (scaled integers written as
// Decimal32/64) when they are plain and the scales agree, and clickhouse-go's
// conversion otherwise (nullable); every value must arrive equal, at the
// limits of each width and across many blocks and inserts.
func TestStreamDecimals(t *testing.T) {
	pg := pgConnect(t)
	ch := chDatabase(t)
	schema := newSchema(t, pg)
	full := schema + ".prices"
	pgExec(t, pg, "CREATE TABLE "+full+` (id bigint PRIMARY KEY,
		d32 numeric(9,2) NOT NULL, d64 numeric(18,4) NOT NULL, d0 numeric(12,0) NOT NULL,
		maybe numeric(10,3), big numeric(30,5) NOT NULL)`)
	// Edge values first, then a spread of signs and magnitudes (within
	// what compareTable's value * 10^scale can hold in ClickHouse).
	pgExec(t, pg, "INSERT INTO "+full+` VALUES
		(1, 99999.99, 9999999999.9999, 999999999999, NULL, 1234567890123.12345),
		(2, -99999.99, -9999999999.9999, -999999999999, -9999.999, -1),
		(3, 0, 0, 0, 0, 0),
		(4, 0.01, 0.0001, 1, 0.001, 0.00001)`)
	pgExec(t, pg, fmt.Sprintf(`INSERT INTO %s SELECT i,
		((i::bigint * 7919) %% 19999999 - 9999999) / 100.0,
		((i::numeric * 104729) %% 199999999999999 - 99999999999999) / 10000.0,
		i::bigint * 1000003 - 5000000000,
		CASE WHEN i %% 3 = 0 THEN NULL ELSE (i %% 20000 - 10000) / 1000.0 END,
		i * 12345.67891
		FROM generate_series(5, 30000) i`, full))
	o := options(schema, testLog(t))
	o.ChunkRows, o.BatchRows, o.StreamRows, o.InsertRows, o.Workers = 7000, 5000, 3000, 10000, 2
	run(t, context.Background(), ch, o)
	for _, tb := range readTables(t, pg, schema) {
		if n := compareTable(t, pg, ch, tb, o.DDL.Policies); n != 30000 {
			t.Errorf("%s: %d rows equal, want 30000", tb.Name, n)
		}
	}
}
