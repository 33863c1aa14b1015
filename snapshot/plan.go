package snapshot

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-cdc/sluice/ddl"
	"github.com/sluice-cdc/sluice/internal/typemap"
)

// Chunk is one part of a table that one worker reads in one query.
type Chunk struct {
	Table *tableJob
	Index int
	// Cond selects the chunk's rows (key or ctid range); empty for all.
	Cond string
}

// String names the chunk in errors and logs.
func (c Chunk) String() string {
	if c.Cond == "" {
		return fmt.Sprintf("%s chunk %d (whole table)", c.Table.Table.Name, c.Index)
	}
	return fmt.Sprintf("%s chunk %d (%s)", c.Table.Table.Name, c.Index, c.Cond)
}

func pgIdent(s string) string { return pgx.Identifier{s}.Sanitize() }

// pgTable is schema.table quoted for PostgreSQL.
func pgTable(t ddl.Table) string { return pgx.Identifier{t.Schema, t.Name}.Sanitize() }

// selectExpr reads a column in the form typemap's AppendPgx expects:
// money as numeric (its text is locale-dependent), json as PostgreSQL's own
// text, enums as text (pgx has no codec for their oids).
func selectExpr(c typemap.Column) string {
	id := pgIdent(c.Name)
	arr := ""
	if c.Array {
		arr = "[]"
	}
	switch c.Kind() {
	case typemap.KindMoney:
		return id + "::numeric" + arr
	case typemap.KindJSON, typemap.KindEnum:
		return id + "::text" + arr
	case typemap.KindText:
		// citext, name and types sluice does not know: their text form.
		switch c.Type {
		case "text", "varchar":
			return id
		}
		return id + "::text" + arr
	}
	return id
}

// selectSQL is the query of one chunk.
func selectSQL(t ddl.Table, cond, where string) string {
	exprs := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		exprs[i] = selectExpr(c)
	}
	var conds []string
	if cond != "" {
		conds = append(conds, cond)
	}
	if where != "" {
		conds = append(conds, "("+where+")")
	}
	q := "SELECT " + strings.Join(exprs, ", ") + " FROM " + pgTable(t)
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	return q
}

// integerKey returns the primary key column when it is a single integer.
func integerKey(t ddl.Table) (string, bool) {
	if len(t.PrimaryKey) != 1 {
		return "", false
	}
	c, ok := t.Column(t.PrimaryKey[0])
	if !ok || c.Array {
		return "", false
	}
	switch c.Kind() {
	case typemap.KindInt16, typemap.KindInt32, typemap.KindInt64:
		return c.Name, true
	}
	return "", false
}

// estimateRows is the planner's row estimate (0 when never analyzed).
func estimateRows(ctx context.Context, tx pgx.Tx, t ddl.Table) (int64, error) {
	var n float64
	err := tx.QueryRow(ctx, `SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = $1::regclass`, pgTable(t)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("snapshot: table %s: row estimate: %w", t.Name, err)
	}
	return int64(n), nil
}

// planChunks splits a table into about est/chunkRows parts, read in the
// exported snapshot so key bounds match what the workers will see.
func planChunks(ctx context.Context, tx pgx.Tx, job *tableJob, est int64, chunkRows int) ([]Chunk, error) {
	n := int64(1)
	if chunkRows > 0 && est > int64(chunkRows) {
		n = (est + int64(chunkRows) - 1) / int64(chunkRows)
	}
	var bounds []cut
	var err error
	if key, ok := integerKey(job.Table); ok {
		bounds, err = keyBounds(ctx, tx, job.Table, key, n)
	} else {
		bounds, err = pageBounds(ctx, tx, job.Table, n)
	}
	if err != nil {
		return nil, err
	}
	return chunksFromBounds(job, bounds), nil
}

// cut is a chunk boundary: the chunk before it has expr < value.
type cut struct{ expr, value string }

// chunksFromBounds turns n-1 cuts into n chunks whose first and last are
// open-ended.
func chunksFromBounds(job *tableJob, cuts []cut) []Chunk {
	if len(cuts) == 0 {
		return []Chunk{{Table: job}}
	}
	chunks := make([]Chunk, 0, len(cuts)+1)
	for i := 0; i <= len(cuts); i++ {
		var conds []string
		if i > 0 {
			conds = append(conds, cuts[i-1].expr+" >= "+cuts[i-1].value)
		}
		if i < len(cuts) {
			conds = append(conds, cuts[i].expr+" < "+cuts[i].value)
		}
		chunks = append(chunks, Chunk{Table: job, Index: i, Cond: strings.Join(conds, " AND ")})
	}
	return chunks
}

// keyBounds cuts an integer key into n ranges: at quantiles of the
// planner's histogram when the table was analyzed (even chunks whatever the
// key gaps), else into equal widths of [min, max].
func keyBounds(ctx context.Context, tx pgx.Tx, t ddl.Table, key string, n int64) ([]cut, error) {
	if n <= 1 {
		return nil, nil
	}
	var hist []int64
	err := tx.QueryRow(ctx, `SELECT histogram_bounds::text::int8[] FROM pg_stats
		WHERE schemaname = $1 AND tablename = $2 AND attname = $3`, t.Schema, t.Name, key).Scan(&hist)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("snapshot: table %s: key histogram: %w", t.Name, err)
	}
	var points []int64
	if int64(len(hist)) > n {
		for i := int64(1); i < n; i++ {
			points = append(points, hist[i*int64(len(hist)-1)/n])
		}
	} else {
		var lo, hi *int64
		q := fmt.Sprintf("SELECT min(%[1]s)::int8, max(%[1]s)::int8 FROM %[2]s", pgIdent(key), pgTable(t))
		if err := tx.QueryRow(ctx, q).Scan(&lo, &hi); err != nil {
			return nil, fmt.Errorf("snapshot: table %s: key range: %w", t.Name, err)
		}
		if lo == nil || *hi-*lo < n {
			return nil, nil
		}
		width := (*hi - *lo + 1) / n
		for i := int64(1); i < n; i++ {
			points = append(points, *lo+i*width)
		}
	}
	cuts := make([]cut, 0, len(points))
	for i, p := range points {
		if i > 0 && p <= points[i-1] {
			continue // duplicate quantiles: merge the empty range
		}
		cuts = append(cuts, cut{pgIdent(key), fmt.Sprint(p)})
	}
	return cuts, nil
}

// pageBounds cuts the table's pages into n ctid ranges.
func pageBounds(ctx context.Context, tx pgx.Tx, t ddl.Table, n int64) ([]cut, error) {
	if n <= 1 {
		return nil, nil
	}
	var pages int64
	q := `SELECT pg_relation_size($1::regclass) / current_setting('block_size')::int8`
	if err := tx.QueryRow(ctx, q, pgTable(t)).Scan(&pages); err != nil {
		return nil, fmt.Errorf("snapshot: table %s: size in pages: %w", t.Name, err)
	}
	if pages < n {
		return nil, nil
	}
	cuts := make([]cut, 0, n-1)
	for i := int64(1); i < n; i++ {
		cuts = append(cuts, cut{"ctid", fmt.Sprintf("'(%d,0)'::tid", i*pages/n)})
	}
	return cuts, nil
}
