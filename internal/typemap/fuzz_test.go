package typemap

import (
	"testing"

	"github.com/sluice-cdc/sluice/internal/chconn"
)

// FuzzAppendDebezium feeds arbitrary bytes to every column kind on both
// profiles: decoding may fail but must never panic.
func FuzzAppendDebezium(f *testing.F) {
	for _, seed := range []string{`"MDk="`, `{"scale":1,"value":"Dw=="}`, `20148`, `"2025-03-01T10:15:30.123456Z"`,
		`["a",null]`, `"NaN"`, `1740824130123456`, `"P1Y2M3DT4H5M6.78S"`, `null`, `"+21016-11-04T06:51:30Z"`, `{"scale":`, `[[1]]`} {
		f.Add([]byte(seed), "", uint8(0))
	}
	types := []string{"int2", "int4", "int8", "bool", "float4", "float8", "numeric", "money", "text", "bpchar",
		"uuid", "json", "bytea", "date", "time", "timestamp", "timestamptz", "interval", "inet", "point"}
	names := []string{nameDecimal, nameVarDecimal, nameDate, nameTime, nameMicroTime, nameNanoTime, nameTimestamp, nameMicroTS, nameNanoTS, nameMicroDuration}
	f.Fuzz(func(t *testing.T, raw []byte, scale string, sel uint8) {
		pol := DefaultPolicies()
		if sel&1 == 1 {
			pol.OutOfRange = RangeClamp
		}
		fs := &FieldSchema{Name: names[int(sel)%len(names)], Parameters: map[string]string{"scale": scale}}
		fs.Items = fs
		for _, p := range []chconn.Profile{chconn.Legacy(), chconn.Modern()} {
			for _, typ := range types {
				for _, c := range []Column{{Type: typ, Precision: 12, Scale: 2, Nullable: true}, {Type: typ, Array: true}, {Type: typ}} {
					b, err := NewBuilder(c, p, pol)
					if err != nil {
						t.Fatal(err)
					}
					if b.AppendDebezium(raw, fs) == nil {
						_ = b.Literal(b.Len() - 1)
					}
					_ = b.AppendDebezium(raw, nil)
				}
			}
		}
	})
}
