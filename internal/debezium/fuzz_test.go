package debezium

import (
	"encoding/json"
	"testing"
)

// FuzzDecode: Decode never panics, fails only with a *DecodeError, and every
// Raw it returns is exactly one valid JSON value. The seed corpus is every
// testdata case.
//
//	go test -fuzz=FuzzDecode ./internal/debezium
func FuzzDecode(f *testing.F) {
	for _, path := range casePaths(f) {
		tc := readCase(f, path)
		f.Add(tc.in.Topic, tc.in.Key, tc.in.Value)
	}
	d := NewDecoder() // shared, so the schema caches and fast path are exercised
	f.Fuzz(func(t *testing.T, topic string, key, value []byte) {
		var rec Record
		in := Input{Topic: topic, Partition: 0, Offset: 1, Key: key, Value: value}
		err := d.DecodeInput(&in, &rec)
		if err != nil {
			checkDecodeError(t, err, &in)
			return
		}
		checkRaw(t, &rec)
		if rec.Kind < Change || rec.Kind > Message {
			t.Fatalf("bad kind %d", rec.Kind)
		}
		for _, v := range rec.Row {
			if v.IsString() {
				if _, err := v.Unquote(nil); err != nil {
					t.Fatalf("Unquote(%s): %v", v.Raw, err)
				}
			}
		}
		// The same input decodes the same way again (cache, fast path).
		var again Record
		err2 := d.DecodeInput(&in, &again)
		a, _ := json.Marshal(summarize(&rec, err))
		b, _ := json.Marshal(summarize(&again, err2))
		if string(a) != string(b) {
			t.Fatalf("second decode differs:\n%s\n%s", a, b)
		}
	})
}

// FuzzScanner: the scanner accepts exactly what encoding/json accepts.
func FuzzScanner(f *testing.F) {
	for _, s := range scannerSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkScanner(t, b) })
}
