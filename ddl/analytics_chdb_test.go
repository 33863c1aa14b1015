//go:build chdb

package ddl

import "testing"

// TestAnalyticsExactChdb is the analytics acceptance test on the
// ClickHouse 26.x engine (chDB); the session is private to this process.
func TestAnalyticsExactChdb(t *testing.T) {
	analyticsScenario(t, chdbConn)
}
