package replicate

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/typemap"
)

func TestAddMonthsLegacyDays(t *testing.T) {
	day := func(s string) int32 {
		tm, err := time.Parse("2006-01-02", s)
		if err != nil {
			t.Fatal(err)
		}
		return int32(tm.Unix() / 86400)
	}
	a, b, c := day("2024-01-31"), day("1965-03-01"), day("1970-01-01")
	for _, values := range []any{[]int32{a, b, c, a}, []*int32{&a, nil, &b, &c}} {
		months := map[int]bool{}
		addMonths(values, months)
		var got []int
		for m := range months {
			got = append(got, m)
		}
		sort.Ints(got)
		if fmt.Sprint(got) != "[196503 197001 202401]" {
			t.Errorf("%T: months %v", values, got)
		}
	}
}

func TestPartitionKeyColumn(t *testing.T) {
	cols := map[string]int{"id": 0, "birth_date": 1, "created_at": 2, "UTC": 3}
	legacy := chconn.ProfileFor(chconn.Version{Major: 18, Minor: 16})
	modern := chconn.ProfileFor(chconn.Version{Major: 26, Minor: 7})
	date := typemap.Column{Name: "birth_date", Type: "date"}
	ts := typemap.Column{Name: "created_at", Type: "timestamptz"}
	cases := map[string]string{
		typemap.MonthExpr(date, "`birth_date`", legacy): "birth_date",
		typemap.MonthExpr(date, "birth_date", legacy):   "birth_date",
		typemap.MonthExpr(ts, "`created_at`", legacy):   "created_at",
		typemap.MonthExpr(ts, "created_at", modern):     "created_at",
		typemap.MonthExpr(date, "birth_date", modern):   "birth_date",
		// as 18.16 reports DaysMonthExpr in system.tables.partition_key
		"toYYYYMM(toDate(toUInt16(((toInt64(birth_date) + 2147625900) % 146097) - (36524 * intDiv(greatest(((toInt64(birth_date) + 2147625900) % 146097) - 11017, 0), 36524))))) + (((100 * intDiv(greatest(((toInt64(birth_date) + 2147625900) % 146097) - 11017, 0), 36524)) + (400 * (intDiv(toInt64(birth_date) + 2147625900, 146097) - 14700))) * 100)": "birth_date",
		"toYYYYMM(toDateTime(intDiv(created_at, 1000000), 'UTC'))": "created_at",
		"tuple()": "",
		"id":      "",
	}
	for key, want := range cases {
		if got := partitionKeyColumn(key, cols); got != want {
			t.Errorf("%s: got %q, want %q", key, got, want)
		}
	}
}

func TestRefineLegacyDate(t *testing.T) {
	legacy := chconn.ProfileFor(chconn.Version{Major: 18, Minor: 16})
	pol := typemap.DefaultPolicies()
	for _, name := range []string{"io.debezium.time.Date", "org.apache.kafka.connect.data.Date", "io.debezium.time.MicroTimestamp"} {
		c := columnFromClickHouse("d", "Int32")
		b, err := typemap.NewBuilder(c, legacy, pol)
		if err != nil {
			t.Fatal(err)
		}
		tb := &table{name: "t", cols: []column{{col: c, chType: "Int32", b: b}}, byName: map[string]int{"d": 0}, part: -1, profile: legacy, pol: pol}
		tb.block = newBlock(tb)
		if err := tb.refineColumn(0, &typemap.FieldSchema{Name: name}, pol); err != nil {
			t.Fatal(err)
		}
		want := "date"
		if name == "io.debezium.time.MicroTimestamp" {
			want = "int4" // an Int32 is never a timestamp
		}
		if got := tb.cols[0].col.Type; got != want {
			t.Errorf("%s: type %s, want %s", name, got, want)
		}
	}
}
