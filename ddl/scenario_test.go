//go:build integration || chdb

package ddl

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/typemap"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// dropAll removes the tables a scenario creates.
func dropAll(t *testing.T, conn chconn.Conn, tables []Table) {
	t.Helper()
	for _, tb := range tables {
		if err := conn.Exec(context.Background(), "DROP TABLE IF EXISTS "+q(tb.Name)); err != nil {
			t.Fatal(err)
		}
	}
}

// applyTwice applies the schema twice: the second run must plan nothing.
func applyTwice(t *testing.T, conn chconn.Conn, tables []Table) {
	t.Helper()
	ctx := context.Background()
	done, err := Apply(ctx, conn, tables, DefaultOptions(), Allow{}, quietLog())
	if err != nil {
		t.Fatalf("first apply: %v", err)
	}
	if len(done) != len(tables) {
		t.Fatalf("first apply made %d changes, want %d creates", len(done), len(tables))
	}
	done, err = Apply(ctx, conn, tables, DefaultOptions(), Allow{}, quietLog())
	if err != nil {
		t.Fatalf("second apply: %v", err)
	}
	if len(done) != 0 {
		t.Fatalf("second apply changed %v", done)
	}
}

// evolve checks that a new source column is added, and a type change is
// refused with a message naming it, leaving ClickHouse untouched.
func evolve(t *testing.T, conn chconn.Conn, added, retyped Table, newCol, retypedCol string) {
	t.Helper()
	ctx := context.Background()
	done, err := Apply(ctx, conn, []Table{added}, DefaultOptions(), Allow{}, quietLog())
	if err != nil || len(done) != 1 || done[0].Kind != AddColumn || done[0].Column != newCol {
		t.Fatalf("apply with new column: %v %v", done, err)
	}
	cols, err := ExistingColumns(ctx, conn, added.Name)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range cols {
		found = found || c.Name == newCol
	}
	if !found {
		t.Fatalf("column %s not in ClickHouse after apply: %v", newCol, cols)
	}
	_, err = Apply(ctx, conn, []Table{retyped}, DefaultOptions(), Allow{}, quietLog())
	var refused *RefusedError
	if !errors.As(err, &refused) || !strings.Contains(err.Error(), retypedCol) || !strings.Contains(err.Error(), "change type") {
		t.Fatalf("type change not refused clearly: %v", err)
	}
	t.Logf("refusal message: %v", err)
}

// withColumn returns t with an extra column.
func withColumn(t Table, c typemap.Column) Table {
	t.Columns = append(append([]typemap.Column{}, t.Columns...), c)
	return t
}
