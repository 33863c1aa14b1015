package verify

import (
	"strings"
	"testing"
	"time"
)

func sampleReport() *Report {
	return &Report{
		Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Duration: 1500 * time.Millisecond,
		SourceLSN: "1/2A", AsOf: "1/20", Verdict: Differs,
		Tables: []TableResult{
			{Table: "customers", Status: Equal, PGRows: 10, CHRows: 10, PGChecksum: "aa", CHChecksum: "aa", Queries: 1, Duration: time.Second},
			{Table: "orders", Month: "2025-03", Status: Differs, PGRows: 10, CHRows: 11, PGChecksum: "aa", CHChecksum: "bb", Queries: 3, Duration: time.Second,
				Diffs: []Diff{
					{Key: []string{"7"}, Kind: ValuesDiffer, Columns: []string{"notes", "total"}, Version: 30},
					{Key: []string{"8"}, Kind: MissingInClickHouse},
					{Key: []string{"9"}, Kind: ExtraInClickHouse, Version: 31},
				},
				InFlight: []Diff{{Key: []string{"12"}, Kind: ValuesDiffer, Columns: []string{"notes"}, Version: 40, Reason: "ClickHouse version 0/28 is after --as-of 1/20"}},
			},
			{Table: "payments", Status: Error, Error: "verify: PostgreSQL: connection reset <&>"},
		},
	}
}

func TestReports(t *testing.T) {
	for name, write := range map[string]func(*strings.Builder, *Report) error{
		"text":  func(b *strings.Builder, r *Report) error { return WriteText(b, r) },
		"json":  func(b *strings.Builder, r *Report) error { return WriteJSON(b, r) },
		"junit": func(b *strings.Builder, r *Report) error { return WriteJUnit(b, r) },
	} {
		var b strings.Builder
		if err := write(&b, sampleReport()); err != nil {
			t.Fatal(err)
		}
		golden(t, "report_"+name, b.String())
	}
}
