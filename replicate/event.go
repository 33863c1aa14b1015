package replicate

import (
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/sluice-cdc/sluice/internal/debezium"
	"github.com/sluice-cdc/sluice/internal/kafkasrc"
	"github.com/sluice-cdc/sluice/internal/typemap"
)

// valState says where a column's value of an event comes from.
type valState uint8

const (
	valAbsent      valState = iota // not in the message (key-only delete, column added later)
	valPresent                     // raw JSON from the message (or read back from ClickHouse)
	valUnavailable                 // the unchanged-TOAST placeholder
	valRow                         // a copy of row `row` of the table's block `src` (an earlier batch of the flush window, the window being written, a remembered row)
)

// rowSource names the table's block a valRow value is copied from. It is
// resolved when the row is built, right after the fill that made the value
// (table.sourceBlock): no window is handed over or written in between.
type rowSource uint8

const (
	srcPending   rowSource = iota // t.block, the block being built
	srcWriting                    // t.writing
	srcRecentCur                  // t.recent.cur's block
	srcRecentOld                  // t.recent.old's block
)

// val is one column of an event: a JSON token and the field schema to read
// it with (nil for values read back from ClickHouse and schemaless topics).
// 40 bytes: events' values are a third of the bytes a run allocates.
type val struct {
	raw   []byte
	fs    *typemap.FieldSchema
	row   int32 // valRow: the block row to copy
	state valState
	src   rowSource // valRow: the block holding the row
}

// event is one decoded change routed to its table. Values are views into
// the Kafka message, which lives as long as the batch.
type event struct {
	msg      *kafkasrc.Message
	t        *table
	op       debezium.Op
	snapshot bool
	key      string // canonical key: the key columns' SQL literals
	keyCols  []int
	vals     []val // one per t.cols
	image    []val // vals after the fill; nil when the event writes no row
	version  uint64
	tsMs     int64
	db, src  string
	dead     bool
}

func (e *event) isDelete() bool { return e.op == debezium.OpDelete }

// needsFill reports whether some column must come from the row's latest
// state: for a delete, every non-key column of the partition and sorting
// keys (the marker must land where the row is, see markerImage); otherwise
// a TOAST placeholder or a NOT NULL column the message lacks.
func (e *event) needsFill() bool {
	found := false
	e.fillCols(func(int) { found = true })
	return found
}

// fillCols calls use with each column e needs from the row's latest state.
func (e *event) fillCols(use func(i int)) {
	t := e.t
	if e.isDelete() {
		if t.markerAll {
			for i := range t.cols {
				if !e.isKey(i) {
					use(i)
				}
			}
			return
		}
		// Only the key of a delete is trusted: under REPLICA IDENTITY
		// DEFAULT its other NOT NULL values are Debezium's fallbacks (the
		// epoch for created_at), which look like real values, and a
		// message does not say which identity its table has.
		for _, i := range t.markerCols {
			if !e.isKey(i) {
				use(i)
			}
		}
		return
	}
	for i, v := range e.vals {
		if v.state == valUnavailable || (v.state == valAbsent && !t.cols[i].col.Nullable && !t.cols[i].col.Array) {
			use(i)
		}
	}
}

func (e *event) isKey(i int) bool {
	for _, k := range e.keyCols {
		if k == i {
			return true
		}
	}
	return false
}

// placeholders are the JSON forms of the unchanged-TOAST placeholder, as
// typemap recognises them (string, base64, one-element arrays, int[] and
// uuid[] forms).
type placeholders [][]byte

func newPlaceholders(ph string) placeholders {
	if ph == "" {
		ph = typemap.DefaultPolicies().Placeholder
	}
	b64 := base64.StdEncoding.EncodeToString([]byte(ph))
	ints := make([]string, len(ph))
	for i := 0; i < len(ph); i++ {
		ints[i] = strconv.Itoa(int(ph[i]))
	}
	h := md5.Sum([]byte(ph))
	h[6] = h[6]&0x0f | 0x30
	h[8] = h[8]&0x3f | 0x80
	u := fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
	return placeholders{
		[]byte(strconv.Quote(ph)), []byte(`"` + b64 + `"`),
		[]byte(`[` + strconv.Quote(ph) + `]`), []byte(`["` + b64 + `"]`),
		[]byte(`[` + strings.Join(ints, ",") + `]`), []byte(`["` + u + `"]`),
	}
}

func (p placeholders) match(raw []byte) bool {
	if len(raw) < 2 || (raw[0] != '"' && raw[0] != '[') {
		return false
	}
	for _, f := range p {
		if string(raw) == string(f) {
			return true
		}
	}
	return false
}

// schemaCache converts debezium field schemas to typemap's, once each.
type schemaCache map[*debezium.FieldSchema]*typemap.FieldSchema

func (c schemaCache) get(fs *debezium.FieldSchema) *typemap.FieldSchema {
	if fs == nil {
		return nil
	}
	if out, ok := c[fs]; ok {
		return out
	}
	if len(c) > 1<<16 { // the decoder's own cache was emptied many times over
		clear(c)
	}
	out := convertSchema(fs)
	c[fs] = out
	return out
}

func convertSchema(fs *debezium.FieldSchema) *typemap.FieldSchema {
	if fs == nil {
		return nil
	}
	return &typemap.FieldSchema{Type: fs.Type, Name: fs.SemanticName, Parameters: fs.Params, Items: convertSchema(fs.Items)}
}

// opName is the cdc_operation value of an event.
func opName(op debezium.Op, snapshot bool) string {
	switch {
	case op == debezium.OpDelete:
		return "DELETE"
	case op == debezium.OpRead || snapshot && op != debezium.OpUpdate:
		return "SNAPSHOT"
	case op == debezium.OpUpdate:
		return "UPDATE"
	}
	return "INSERT"
}
