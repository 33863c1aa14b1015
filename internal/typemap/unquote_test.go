package typemap

import (
	"encoding/json"
	"strings"
	"testing"
)

var unquoteCases = []string{
	`""`, `"plain"`, `"ünïcödé ✓"`, `"a\"b"`, `"\\"`, `"\/\b\f\n\r\t"`, `"\u00e9"`, `"\u00E9x"`,
	`"\ud83d\ude00"`, `"\ud83d"`, `"\ud83dx"`, `"\ude00\ud83d"`, `"\ud83d\u0041"`, `"\ud83d\ud83d\ude00"`,
	`"\ud83d\uXYZW"`, `"\u12"`, `"\u"`, `"\x"`, `"\'"`, `"a\"`, `"a"b"`, "\"tab\there\"", "\"bad\xffutf8\"",
	"\"\xed\xa0\x80\"", "\"\xef\xbf\xbd\"", `"{\"a\": [1, \"x\\y\"]}"`, `"\u0000"`,
}

// TestUnquoteMatchesEncodingJSON: the hand-written unescape gives
// encoding/json's result (value, or an error) for every case.
func TestUnquoteMatchesEncodingJSON(t *testing.T) {
	for _, c := range unquoteCases {
		checkUnquote(t, []byte(c))
	}
}

func TestUnquoteValues(t *testing.T) {
	for in, want := range map[string]string{
		`"\ud83d\ude00"`: "😀", `"\ud83dx"`: "\ufffdx", `"\ud83d\u0041"`: "\ufffdA", `"a\"b"`: `a"b`,
		"\"bad\xffutf8\"": "bad\ufffdutf8", `"\u00e9"`: "é",
	} {
		got, err := unquote([]byte(in))
		if err != nil || got != want {
			t.Errorf("unquote(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{`"\x"`, `"\u12"`, `"a\"`, `"a"b"`, "\"a\nb\"", `abc`} {
		if got, err := unquote([]byte(in)); err == nil {
			t.Errorf("unquote(%q) = %q, want an error", in, got)
		}
	}
}

func checkUnquote(t *testing.T, raw []byte) {
	t.Helper()
	got, err := unquote(raw)
	var want string
	werr := json.Unmarshal(raw, &want)
	if (err != nil) != (werr != nil) || got != want {
		t.Fatalf("unquote(%q) = %q, %v; encoding/json: %q, %v", raw, got, err, want, werr)
	}
}

// FuzzUnquote compares unquote with encoding/json on arbitrary string
// bodies.
func FuzzUnquote(f *testing.F) {
	for _, c := range unquoteCases {
		f.Add([]byte(c[1 : len(c)-1]))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkUnquote(t, []byte(`"`+string(body)+`"`))
	})
}

// BenchmarkUnquote prints the hand-written unescape next to encoding/json
// on a JSON-text value (escaped quotes) and a plain one.
func BenchmarkUnquote(b *testing.B) {
	escaped := []byte(`"` + strings.Repeat(`{\"k\": \"v\\u00e9\", \"n\": [1, 2]} `, 8) + `"`)
	plain := []byte(`"` + strings.Repeat("plain text value ", 8) + `"`)
	for _, in := range []struct {
		name string
		raw  []byte
	}{{"escaped", escaped}, {"plain", plain}} {
		b.Run(in.name+"/sluice", func(b *testing.B) {
			b.SetBytes(int64(len(in.raw)))
			for b.Loop() {
				if _, err := unquote(in.raw); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(in.name+"/encoding_json", func(b *testing.B) {
			b.SetBytes(int64(len(in.raw)))
			for b.Loop() {
				var s string
				if err := json.Unmarshal(in.raw, &s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
