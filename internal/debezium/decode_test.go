package debezium

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func caseInput(t testing.TB, name string) Input {
	t.Helper()
	return readCase(t, "testdata/cases/"+name+".txt").in
}

func mustDecode(t testing.TB, d *Decoder, in Input, rec *Record) {
	t.Helper()
	if err := d.DecodeInput(&in, rec); err != nil {
		t.Fatal(err)
	}
}

// TestSchemaChange: the Fields pointer stays while the schema bytes do,
// changes when a column appears, and comes back when the old schema does.
func TestSchemaChange(t *testing.T) {
	d := NewDecoder()
	var rec Record
	mustDecode(t, d, caseInput(t, "unwrap_schema_create"), &rec)
	first, firstKey := rec.Fields, rec.KeyFields
	mustDecode(t, d, caseInput(t, "unwrap_schema_update_toast"), &rec)
	if rec.Fields != first || rec.KeyFields != firstKey {
		t.Fatal("same schema bytes, new Fields pointer")
	}
	mustDecode(t, d, caseInput(t, "unwrap_schema_new_column"), &rec)
	if rec.Fields == first {
		t.Fatal("schema gained a column, Fields pointer unchanged")
	}
	if rec.Fields.Lookup("loyalty_points") == nil || first.Lookup("loyalty_points") != nil {
		t.Fatal("new column not in the new Fields only")
	}
	if rec.KeyFields != firstKey {
		t.Fatal("key schema unchanged, KeyFields pointer changed")
	}
	second := rec.Fields
	// Another topic in between, then the old schema again: found by hash.
	mustDecode(t, d, caseInput(t, "heartbeat_schema"), &rec)
	mustDecode(t, d, caseInput(t, "unwrap_schema_rewrite_delete"), &rec)
	if rec.Fields != first {
		t.Fatal("old schema again: want the first Fields pointer")
	}
	mustDecode(t, d, caseInput(t, "unwrap_schema_new_column"), &rec)
	if rec.Fields != second {
		t.Fatal("new schema again: want the second Fields pointer")
	}
}

// TestFastPathSameAsSlow: a message decoded through the schema-prefix fast
// path gives the same record as a fresh decoder (slow path), also when the
// bytes after the schema are not the usual `,"payload":`.
func TestFastPathSameAsSlow(t *testing.T) {
	in := caseInput(t, "unwrap_schema_create")
	variants := map[string]string{
		"spaces":      strings.Replace(string(in.Value), `},"payload":{`, `} , "payload" : {`, 1),
		"extra key":   strings.Replace(string(in.Value), `},"payload":{`, `},"extra":1,"payload":{`, 1),
		"trailing":    string(in.Value) + "  x",
		"payload arr": strings.Replace(string(in.Value), `},"payload":{`, `},"payload":[{`, 1) + "]",
	}
	warm := NewDecoder()
	var rec Record
	mustDecode(t, warm, in, &rec)
	for name, v := range variants {
		in2 := in
		in2.Value = []byte(v)
		var fast, slow Record
		errFast := warm.DecodeInput(&in2, &fast)
		errSlow := NewDecoder().DecodeInput(&in2, &slow)
		a, _ := json.Marshal(summarize(&fast, errFast))
		b, _ := json.Marshal(summarize(&slow, errSlow))
		if !bytes.Equal(a, b) {
			t.Errorf("%s: fast path %s\nslow path %s", name, a, b)
		}
	}
}

// TestRecordReuse: decoding into a used Record leaves nothing behind.
func TestRecordReuse(t *testing.T) {
	d := NewDecoder()
	var rec Record
	mustDecode(t, d, caseInput(t, "unwrap_schema_create"), &rec)
	mustDecode(t, d, caseInput(t, "heartbeat_schemaless"), &rec)
	if rec.Fields != nil || rec.KeyFields != nil || len(rec.Row) != 1 || rec.HasLSN || rec.DB != "" || rec.Table != "" {
		t.Fatalf("stale record: %+v", rec)
	}
	in := caseInput(t, "poison_truncated")
	if err := d.DecodeInput(&in, &rec); err == nil || len(rec.Row) != 0 || rec.Kind != 0 {
		t.Fatalf("a failed decode must leave an empty record: %v %+v", err, rec)
	}
}

// TestDecodeErrorText: the error names topic, partition, offset, part and
// position, and Decode (no partition/offset) leaves them out.
func TestDecodeErrorText(t *testing.T) {
	in := Input{Topic: "t.public.x", Partition: 2, Offset: 99, Value: []byte(`{"a":1,"b":tru}`)}
	err := NewDecoder().DecodeInput(&in, &Record{})
	want := "debezium: topic t.public.x partition 2 offset 99: value byte 11: malformed_json: bad literal, want true"
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
	err = NewDecoder().Decode("t.public.x", nil, []byte(`{"op":"q","source":{}}`), &Record{})
	if err == nil || err.Error() != `debezium: topic t.public.x: value: unknown_op: op "\"q\""` {
		t.Fatalf("got %v", err)
	}
	// Positions inside nested objects count from the start of the value.
	v := []byte(`{"schema":null,"payload":{"op":"c","source":{},"after":{"x":[1,}}}`)
	err = NewDecoder().Decode("t", nil, v, &Record{})
	want2 := bytes.Index(v, []byte("1,}")) + 2
	if de, ok := err.(*DecodeError); !ok || de.Pos != want2 {
		t.Fatalf("got %#v, want Pos %d", err, want2)
	}
}

func TestUnquote(t *testing.T) {
	for raw, want := range map[string]string{
		`""`:                      "",
		`"plain"`:                 "plain",
		`"a\"b\\c\/d\n\t"`:        "a\"b\\c/d\n\t",
		`"\u00e9\u20ac"`:          "é€",
		`"\ud83d\ude00"`:          "😀",
		`"\ud83d x"`:              "\ufffd x",
		`"{\"k\": \"v\\\"\"}"`:    `{"k": "v\""}`,
		`"__debezium_unavail"`:    "__debezium_unavail",
		"\"caf\u00e9 unescaped\"": "café unescaped",
	} {
		got, err := Unquote([]byte(raw), nil)
		if err != nil || string(got) != want {
			t.Errorf("Unquote(%s) = %q, %v; want %q", raw, got, err, want)
		}
		var std string
		if json.Unmarshal([]byte(raw), &std) != nil || std != want {
			t.Errorf("encoding/json disagrees on %s: %q", raw, std)
		}
	}
	for _, bad := range []string{``, `"`, `x`, `1`, `"a\qb"`, `"\u12"`, `null`} {
		if _, err := Unquote([]byte(bad), nil); err == nil {
			t.Errorf("Unquote(%s): want an error", bad)
		}
	}
	raw := []byte(`"2025-03-01T10:15:30.123456Z"`)
	if n := testing.AllocsPerRun(100, func() { _, _ = Unquote(raw, nil) }); n != 0 {
		t.Errorf("Unquote without escapes allocates %v times", n)
	}
	esc := []byte(`"a\nb"`)
	scratch := make([]byte, 0, 16)
	if n := testing.AllocsPerRun(100, func() { scratch, _ = Unquote(esc, scratch) }); n != 0 {
		t.Errorf("Unquote with escapes and a scratch buffer allocates %v times", n)
	}
}

func TestIsUnavailable(t *testing.T) {
	for raw, want := range map[string]bool{
		`"__debezium_unavailable_value"`:                 true,
		`"X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ=="`:     true,
		`["__debezium_unavailable_value"]`:               true,
		`[ "X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==" ]`: true,
		`"__debezium_unavailable_value "`:                false,
		`"text"`:                                         false,
		`null`:                                           false,
		`[]`:                                             false,
		`["__debezium_unavailable_value","x"]`:           false,
	} {
		if got := (Value{Raw: []byte(raw)}).IsUnavailable(); got != want {
			t.Errorf("IsUnavailable(%s) = %v", raw, got)
		}
	}
}

func TestTopics(t *testing.T) {
	for topic, want := range map[string][3]string{
		"cdc.ecommerce.public.orders": {"cdc.ecommerce", "public", "orders"},
		"shop.public.orders":          {"shop", "public", "orders"},
		"shop.orders":                 {},
		"shop..orders":                {},
		".public.orders":              {},
		"shop.public.":                {},
		"orders":                      {},
	} {
		p, s, tb, ok := SplitTopic(topic)
		if [3]string{p, s, tb} != want || ok != (want[0] != "") {
			t.Errorf("SplitTopic(%q) = %q %q %q %v", topic, p, s, tb, ok)
		}
	}
	if !IsHeartbeatTopic("__debezium-heartbeat.shop") || IsHeartbeatTopic("shop.public.heartbeat") {
		t.Error("IsHeartbeatTopic")
	}
	if !IsTransactionTopic("shop.transaction") || IsTransactionTopic("shop.public.transactions") {
		t.Error("IsTransactionTopic")
	}
	if !IsMessageTopic("shop.message") {
		t.Error("IsMessageTopic")
	}
}

// TestZeroAllocs: decoding allocates nothing in the steady state, for every
// benchmark shape.
func TestZeroAllocs(t *testing.T) {
	for _, bm := range benchMessages(t) {
		d := NewDecoder()
		var rec Record
		in := bm.in
		mustDecode(t, d, in, &rec)
		n := testing.AllocsPerRun(200, func() {
			if err := d.DecodeInput(&in, &rec); err != nil {
				t.Fatal(err)
			}
		})
		if n != 0 {
			t.Errorf("%s: %v allocs per message", bm.name, n)
		}
	}
}

// TestScannerAgreesWithEncodingJSON: the scanner accepts exactly what
// json.Valid accepts (FuzzScanner explores further).
func TestScannerAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range scannerSeeds {
		checkScanner(t, []byte(s))
	}
}

var scannerSeeds = []string{
	`0`, `-0`, `01`, `-`, `1.`, `1.5`, `1e5`, `1E+5`, `1e`, `.5`, `+1`, `1.5e-07`,
	`"a"`, `"\u00zz"`, `"\ud800"`, "\"\x01\"", "\"\xff\"", `"\/"`, `"\a"`,
	`true`, `tru`, `nul`, `null `, ` null`, `[]`, `[1,]`, `[,1]`, `{}`, `{"a"}`, `{"a":}`,
	`{"a":1,}`, `{"a":1 "b":2}`, `{1:2}`, `[[[]]]`, `{"a":[{"b":null}]}`, `"\"`, `[1 2]`,
}

func checkScanner(t testing.TB, b []byte) {
	t.Helper()
	got := wholeValue(trimSpace(b)) == nil && len(trimSpace(b)) > 0
	if want := json.Valid(b); got != want {
		t.Fatalf("scanner says %v, json.Valid says %v, for %q", got, want, b)
	}
}
