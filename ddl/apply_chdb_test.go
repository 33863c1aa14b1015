//go:build chdb

package ddl

import (
	"os"
	"testing"

	"github.com/sluice-cdc/sluice/internal/chconn/chdb"
	"github.com/sluice-cdc/sluice/internal/typemap"
)

var chdbConn *chdb.Conn

func TestMain(m *testing.M) {
	os.Exit(chdb.TestMainFor(m, "sluice-ddl-chdb-", func(c *chdb.Conn) { chdbConn = c }))
}

func TestApplyChdb(t *testing.T) {
	tables := append(shopTables(), hostileTable())
	dropAll(t, chdbConn, tables)
	applyTwice(t, chdbConn, tables)

	orders := shopTables()[2]
	added := withColumn(orders, typemap.Column{Name: "coupon code", Type: "text", Nullable: true})
	retyped := added
	retyped.Columns = append([]typemap.Column{}, added.Columns...)
	retyped.Columns[5] = typemap.Column{Name: "total_amount", Type: "numeric", Precision: 14, Scale: 4}
	evolve(t, chdbConn, added, retyped, "coupon code", "total_amount")
}
