package verify

import (
	"fmt"
	"sort"
	"time"
)

// monthBounds is [first day, first day of the next month) of YYYY-MM, UTC.
func monthBounds(month string) (time.Time, time.Time, error) {
	start, err := time.Parse("2006-01", month)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("verify: month %q: want YYYY-MM", month)
	}
	return start, start.AddDate(0, 1, 0), nil
}

// monthRange lists every month from the earliest to the latest of bounds
// (YYYY-MM strings), so a month present on one side only is compared too.
func monthRange(bounds []string) []string {
	if len(bounds) == 0 {
		return nil
	}
	sort.Strings(bounds)
	first, err1 := time.Parse("2006-01", bounds[0])
	last, err2 := time.Parse("2006-01", bounds[len(bounds)-1])
	if err1 != nil || err2 != nil {
		return nil
	}
	var out []string
	for m := first; !m.After(last); m = m.AddDate(0, 1, 0) {
		out = append(out, m.Format("2006-01"))
	}
	return out
}
