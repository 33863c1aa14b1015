// Package e2etest holds what the end-to-end tests of several packages
// share (replicate and snapshot run the whole pipeline against the stack).
// It is imported by tests only.
package e2etest

import (
	"context"
	"time"

	"github.com/sluice-cdc/sluice/internal/chconn/native"
	"github.com/sluice-cdc/sluice/internal/testenv"
)

// DropDatabase drops a test's ClickHouse database, trying up to three
// times: on a loaded machine ClickHouse 18.16 can take longer than the
// client's read timeout to drop a database of millions of rows (the drop
// goes on server-side), which is no failure of the test itself.
func DropDatabase(db string) error {
	var err error
	for try := 0; try < 3; try++ {
		if try > 0 {
			time.Sleep(5 * time.Second)
		}
		var c *native.Conn
		if c, err = native.Open(context.Background(), "clickhouse://"+testenv.ClickHouseAddr()+"/default"); err != nil {
			continue
		}
		err = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db)
		c.Close()
		if err == nil {
			return nil
		}
	}
	return err
}
