package debezium

import (
	"encoding/json"
	"strings"
	"testing"
)

type benchMessage struct {
	name string
	in   Input
}

// benchMessages are the orders messages of testdata/cases: the full
// envelope with schemas (about 6 KB, the schema cached), the project's
// unwrapped rows with schemas (cached), and flattened rows without schemas,
// plus the schemaless envelope.
func benchMessages(t testing.TB) []benchMessage {
	flat := caseInput(t, "unwrap_schema_create")
	// The same row without the schema wrappers, as schemas.enable=false.
	var w struct{ Payload json.RawMessage }
	if err := json.Unmarshal(flat.Value, &w); err != nil {
		t.Fatal(err)
	}
	flat.Value = w.Payload
	flat.Key = []byte(`{"order_id":1001}`)
	return []benchMessage{
		{"envelope-schema", caseInput(t, "envelope_schema_create")},
		{"unwrap-schema", caseInput(t, "unwrap_schema_create")},
		{"flat-schemaless", flat},
		{"envelope-schemaless", caseInput(t, "envelope_create")},
	}
}

// BenchmarkDecode decodes the same message over and over: the steady state,
// with the schema cached. Compare with BenchmarkDecodeEncodingJSONBaseline.
func BenchmarkDecode(b *testing.B) {
	for _, bm := range benchMessages(b) {
		b.Run(bm.name, func(b *testing.B) {
			d := NewDecoder()
			var rec Record
			in := bm.in
			b.SetBytes(int64(len(in.Key) + len(in.Value)))
			b.ReportAllocs()
			for b.Loop() {
				if err := d.DecodeInput(&in, &rec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeColdSchema decodes with a schema that is never the one of
// the previous message on the topic: it is scanned and found by hash.
func BenchmarkDecodeColdSchema(b *testing.B) {
	for _, bm := range benchMessages(b)[:2] {
		b.Run(bm.name, func(b *testing.B) {
			d := NewDecoder()
			var rec Record
			a, c := bm.in, bm.in
			// The same schema bytes behind a different prefix, so the
			// prefix fast path misses and the hash lookup finds it.
			c.Value = []byte(strings.Replace(string(c.Value), `{"schema":`, `{ "schema":`, 1))
			b.SetBytes(int64(len(a.Key) + len(a.Value) + len(c.Key) + len(c.Value)))
			b.ReportAllocs()
			for b.Loop() { // two messages per op
				if d.DecodeInput(&a, &rec) != nil || d.DecodeInput(&c, &rec) != nil {
					b.Fatal("decode failed")
				}
			}
		})
	}
}

// The baseline: encoding/json doing the same work (wrapper split, envelope
// and source into typed structs, the row into raw column values).
type baseWrapped struct {
	Schema  json.RawMessage `json:"schema"`
	Payload json.RawMessage `json:"payload"`
}

type baseEnvelope struct {
	Before json.RawMessage `json:"before"`
	After  json.RawMessage `json:"after"`
	Source *struct {
		DB       string  `json:"db"`
		Schema   string  `json:"schema"`
		Table    string  `json:"table"`
		TsMs     int64   `json:"ts_ms"`
		Snapshot *string `json:"snapshot"`
		LSN      *int64  `json:"lsn"`
	} `json:"source"`
	Op string `json:"op"`
}

func baselineDecode(key, value []byte) (map[string]json.RawMessage, error) {
	var k, row map[string]json.RawMessage
	var w baseWrapped
	if err := json.Unmarshal(key, &w); err != nil {
		return nil, err
	}
	payload := []byte(w.Payload)
	if w.Payload == nil {
		payload = key
	}
	if err := json.Unmarshal(payload, &k); err != nil {
		return nil, err
	}
	w = baseWrapped{}
	if err := json.Unmarshal(value, &w); err != nil {
		return nil, err
	}
	payload = w.Payload
	if w.Payload == nil {
		payload = value
	}
	if strings.Contains(string(payload[:min(len(payload), 16)]), `"before"`) {
		var e baseEnvelope
		if err := json.Unmarshal(payload, &e); err != nil {
			return nil, err
		}
		payload = e.After
	}
	err := json.Unmarshal(payload, &row)
	return row, err
}

func BenchmarkDecodeEncodingJSONBaseline(b *testing.B) {
	for _, bm := range benchMessages(b) {
		b.Run(bm.name, func(b *testing.B) {
			b.SetBytes(int64(len(bm.in.Key) + len(bm.in.Value)))
			b.ReportAllocs()
			for b.Loop() {
				if row, err := baselineDecode(bm.in.Key, bm.in.Value); err != nil || len(row) < 10 {
					b.Fatal(err, len(row))
				}
			}
		})
	}
}
