package debezium

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the want sections of testdata/cases")

// testCase is one testdata/cases/*.txt file (see testdata/gen_cases.py).
type testCase struct {
	name    string
	comment string
	in      Input
	want    string
}

func readCase(t testing.TB, path string) testCase {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tc := testCase{name: strings.TrimSuffix(filepath.Base(path), ".txt"), in: Input{Partition: 3, Offset: 77}}
	sections := bytes.Split(data, []byte("-- "))
	tc.comment = string(sections[0])
	for _, s := range sections[1:] {
		head, body, ok := bytes.Cut(s, []byte(" --\n"))
		if !ok {
			t.Fatalf("%s: bad section %q", path, s)
		}
		body = bytes.Clone(body)
		switch string(head) {
		case "topic":
			tc.in.Topic = strings.TrimSpace(string(body))
		case "key":
			tc.in.Key = body
		case "value":
			tc.in.Value = body
		case "headers":
			for _, line := range strings.Split(strings.TrimSpace(string(body)), "\n") {
				k, v, _ := strings.Cut(line, ": ")
				tc.in.Headers = append(tc.in.Headers, Header{Key: k, Value: []byte(v)})
			}
		case "want":
			tc.want = string(body)
		default:
			t.Fatalf("%s: unknown section %q", path, head)
		}
	}
	return tc
}

// summary is a Record (or error) in a form that is easy to read in a
// golden file.
type summary struct {
	Error     string   `json:"error,omitempty"`
	Part      string   `json:"part,omitempty"`
	Kind      string   `json:"kind,omitempty"`
	Op        string   `json:"op,omitempty"`
	Tx        string   `json:"tx,omitempty"`
	DB        string   `json:"db,omitempty"`
	Schema    string   `json:"schema,omitempty"`
	Table     string   `json:"table,omitempty"`
	LSN       *uint64  `json:"lsn,omitempty"`
	TsMs      int64    `json:"ts_ms,omitempty"`
	Snapshot  bool     `json:"snapshot,omitempty"`
	Fields    []string `json:"fields,omitempty"`
	KeyFields []string `json:"key_fields,omitempty"`
	Row       []string `json:"row,omitempty"`
	Key       []string `json:"key,omitempty"`
	Unavail   []string `json:"unavailable,omitempty"`
}

func describeFields(f *Fields) []string {
	if f == nil {
		return nil
	}
	out := []string{"name " + f.Name}
	for _, c := range f.Columns {
		out = append(out, describeSchema(&c))
	}
	return out
}

func describeSchema(c *FieldSchema) string {
	s := c.Name + " " + c.Type
	if c.SemanticName != "" {
		s += " " + c.SemanticName
	}
	if c.Optional {
		s += " optional"
	}
	if len(c.Params) > 0 {
		keys := make([]string, 0, len(c.Params))
		for k := range c.Params {
			keys = append(keys, k+"="+c.Params[k])
		}
		sort.Strings(keys)
		s += " {" + strings.Join(keys, ",") + "}"
	}
	if c.Items != nil {
		s += " items(" + describeSchema(c.Items) + ")"
	}
	return s
}

// describeValues writes each value as "name raw" plus its schema type.
func describeValues(vs []Value) []string {
	var out []string
	for _, v := range vs {
		s := v.Name + " " + string(v.Raw)
		if v.Schema != nil {
			s += " : " + v.Schema.Type
		}
		out = append(out, s)
	}
	return out
}

func summarize(rec *Record, err error) summary {
	if err != nil {
		s := summary{Error: ReasonOf(err)}
		if de, ok := err.(*DecodeError); ok {
			s.Part = de.Part
		}
		return s
	}
	s := summary{
		Kind: rec.Kind.String(), Op: rec.Op.String(), Tx: rec.Tx.String(),
		DB: rec.DB, Schema: rec.Schema, Table: rec.Table, TsMs: rec.TsMs, Snapshot: rec.Snapshot,
		Fields: describeFields(rec.Fields), KeyFields: describeFields(rec.KeyFields),
		Row: describeValues(rec.Row), Key: describeValues(rec.Key),
	}
	if rec.HasLSN {
		s.LSN = &rec.LSN
	}
	for _, v := range rec.Row {
		if v.IsUnavailable() {
			s.Unavail = append(s.Unavail, v.Name)
		}
	}
	return s
}

func casePaths(t testing.TB) []string {
	paths, err := filepath.Glob("testdata/cases/*.txt")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no test cases: %v", err)
	}
	return paths
}

// TestCases decodes every testdata case and compares with its want
// section. Poison cases (poison_*) must fail with the wanted reason.
func TestCases(t *testing.T) {
	d := NewDecoder()
	for _, path := range casePaths(t) {
		tc := readCase(t, path)
		t.Run(tc.name, func(t *testing.T) {
			var rec Record
			err := d.DecodeInput(&tc.in, &rec)
			got, _ := json.MarshalIndent(summarize(&rec, err), "", "  ")
			if *update {
				writeWant(t, path, string(got)+"\n")
				return
			}
			if strings.HasPrefix(tc.name, "poison_") != (err != nil) {
				t.Fatalf("error = %v", err)
			}
			if err != nil {
				checkDecodeError(t, err, &tc.in)
			} else {
				checkRaw(t, &rec)
			}
			if string(got)+"\n" != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func writeWant(t *testing.T, path, want string) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if i := bytes.Index(data, []byte("-- want --\n")); i >= 0 {
		data = data[:i]
	}
	data = append(data, "-- want --\n"+want...)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkDecodeError checks the error's type and context.
func checkDecodeError(t testing.TB, err error, in *Input) {
	t.Helper()
	de, ok := err.(*DecodeError)
	if !ok {
		t.Fatalf("error %T is not a *DecodeError: %v", err, err)
	}
	if de.Reason == "" || de.Topic != in.Topic || de.Partition != in.Partition || de.Offset != in.Offset {
		t.Fatalf("error context: %+v", de)
	}
	if !strings.Contains(de.Error(), de.Reason) || !strings.Contains(de.Error(), in.Topic) {
		t.Fatalf("error text: %v", de)
	}
}

// checkRaw checks that every Raw is exactly one valid JSON value.
func checkRaw(t testing.TB, rec *Record) {
	t.Helper()
	for _, vs := range [][]Value{rec.Row, rec.Key} {
		for _, v := range vs {
			if !json.Valid(v.Raw) || len(bytes.TrimSpace(v.Raw)) != len(v.Raw) {
				t.Fatalf("column %q: Raw %q is not one JSON value", v.Name, v.Raw)
			}
		}
	}
}
