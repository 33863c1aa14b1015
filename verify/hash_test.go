package verify

import (
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/typemap"
)

// laneInput is one input as the SQL sees it; null marks NULL.
type laneInput struct {
	v     int64
	null  bool
	small bool
}

// refRowHash computes the row hash as pgRowHashOf's SQL does, checking
// every intermediate against the int64 range the way PostgreSQL's bigint
// operators do (they raise on overflow).
func refRowHash(t *testing.T, ins []laneInput) int64 {
	t.Helper()
	lim := new(big.Int).SetInt64(math.MaxInt64)
	check := func(x *big.Int) *big.Int {
		if x.CmpAbs(lim) > 0 {
			t.Fatalf("intermediate %s overflows bigint", x)
		}
		return x
	}
	// rem truncates toward zero, like % in PostgreSQL and ClickHouse.
	rem := func(x *big.Int, p int64) *big.Int { return new(big.Int).Rem(x, big.NewInt(p)) }
	lane := func(p, m int64) *big.Int {
		var h *big.Int
		for i, in := range ins {
			var r *big.Int
			switch {
			case in.null:
				r = big.NewInt(nullInput)
			case in.small:
				r = big.NewInt(in.v)
			default:
				r = rem(big.NewInt(in.v), p)
			}
			if i == 0 {
				h = r
				continue
			}
			prod := check(new(big.Int).Mul(h, big.NewInt(m)))
			h = check(prod.Add(prod, r))
			if i%laneSteps == 0 || i == len(ins)-1 {
				h = rem(h, p)
			}
		}
		return h
	}
	u1 := rem(check(new(big.Int).Add(lane(laneP1, laneM1), big.NewInt(laneP1))), laneP1)
	l2 := rem(check(new(big.Int).Add(lane(laneP2, laneM2), big.NewInt(laneP2))), laneP2)
	u2 := check(l2.Add(l2, big.NewInt(1)))
	return check(new(big.Int).Mul(u1, u2)).Int64()
}

func TestRowHashNoOverflow(t *testing.T) {
	extremes := []laneInput{
		{v: math.MaxInt64}, {v: math.MinInt64}, {v: -laneP1}, {v: laneP1 - 1}, {null: true},
		{v: math.MaxInt32, small: true}, {v: math.MinInt32, small: true}, {v: 0},
	}
	for _, a := range extremes {
		for _, b := range extremes {
			for _, c := range extremes {
				if h := refRowHash(t, []laneInput{a, b, c}); h < 0 {
					t.Fatalf("row hash %d < 0 for %v %v %v", h, a, b, c)
				}
			}
		}
	}
	// Longer rows cross the unreduced steps (laneSteps) with the largest
	// terms: every extreme repeated, and random mixes.
	for _, a := range extremes {
		for n := 1; n <= 10; n++ {
			if h := refRowHash(t, slices.Repeat([]laneInput{a}, n)); h < 0 {
				t.Fatalf("row hash %d < 0 for %d x %v", h, n, a)
			}
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 5000 {
		ins := make([]laneInput, 1+rng.IntN(12))
		for i := range ins {
			ins[i] = extremes[rng.IntN(len(extremes))]
		}
		if h := refRowHash(t, ins); h < 0 {
			t.Fatalf("row hash %d < 0 for %v", h, ins)
		}
	}
}

// TestLaneMultipliers checks what the lanes rely on: multipliers below
// 2^10 (three unreduced steps stay below 2^62) that are primitive roots
// of their primes (distinct weights for every position).
func TestLaneMultipliers(t *testing.T) {
	for _, l := range []struct {
		p, m    int64
		factors []int64 // the prime factors of p - 1
	}{
		{laneP1, laneM1, []int64{2, 3, 7, 11, 31, 151, 331}},
		{laneP2, laneM2, []int64{2, 3, 59652323}},
	} {
		if l.m >= 1<<10 {
			t.Errorf("multiplier %d of %d is not below 2^10", l.m, l.p)
		}
		rest := l.p - 1
		for _, f := range l.factors {
			if !big.NewInt(f).ProbablyPrime(20) || rest%f != 0 {
				t.Fatalf("%d is not a prime factor of %d", f, l.p-1)
			}
			for rest%f == 0 {
				rest /= f
			}
			e := new(big.Int).Exp(big.NewInt(l.m), big.NewInt((l.p-1)/f), big.NewInt(l.p))
			if e.Cmp(big.NewInt(1)) == 0 {
				t.Errorf("multiplier %d is not a primitive root of %d (order divides (p-1)/%d)", l.m, l.p, f)
			}
		}
		if rest != 1 {
			t.Fatalf("factors of %d incomplete: %d left", l.p-1, rest)
		}
	}
}

func TestRowHashTellsApart(t *testing.T) {
	h := func(vs ...laneInput) int64 { return refRowHash(t, vs) }
	if h(laneInput{v: 1}, laneInput{v: 0}) == h(laneInput{v: 1}, laneInput{null: true}) {
		t.Error("NULL hashes like 0")
	}
	if h(laneInput{v: 1}, laneInput{v: 2}) == h(laneInput{v: 2}, laneInput{v: 1}) {
		t.Error("values swapped between columns hash alike")
	}
	// Differences that are multiples of one prime still change the other lane.
	if h(laneInput{v: 5}) == h(laneInput{v: 5 + laneP1}) || h(laneInput{v: 5}) == h(laneInput{v: 5 + laneP2}) {
		t.Error("a difference of one lane's prime is lost")
	}
	// One column swapped between two rows: the sum of the two hashes must
	// change (a linear row hash would keep it).
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		k1, k2 := rng.Int64(), rng.Int64()
		x1, x2 := rng.Int64N(1<<40), rng.Int64N(1<<40)
		y1, y2 := rng.Int64(), rng.Int64()
		before := uint64(h(laneInput{v: k1}, laneInput{v: x1}, laneInput{v: y1})) + uint64(h(laneInput{v: k2}, laneInput{v: x2}, laneInput{v: y2}))
		after := uint64(h(laneInput{v: k1}, laneInput{v: x2}, laneInput{v: y1})) + uint64(h(laneInput{v: k2}, laneInput{v: x1}, laneInput{v: y2}))
		if before == after && x1 != x2 {
			t.Fatalf("swapping %d and %d between rows keeps the sum", x1, x2)
		}
	}
}

// TestRowHashSQL checks that the SQL is the reference computation: the
// lane steps (reduced every laneSteps steps and at the end), NULL's input
// and the small inputs, on both sides.
func TestRowHashSQL(t *testing.T) {
	ins := []hashInput{
		{pg: `"id"`, ch: "toInt64(`id`)"},
		{pg: `"n"::bigint`, ch: "toInt64(`n`)", small: true},
		{pg: `"x"`, ch: "toInt64(assumeNotNull(`x`))", pgNull: true, chNull: "`x`"},
		{pg: `"y"`, ch: "toInt64(`y`)"},
		{pg: `"z"`, ch: "toInt64(`z`)"},
	}
	pg := pgRowHashOf(ins, []string{"a", "b", "c", "d", "e"})
	lane := func(p, m string) string {
		return "((((((a % " + p + ") * " + m + " + b) * " + m + " + coalesce(c % " + p + ", 2147483648)) * " + m + " + d % " + p + ") % " + p +
			") * " + m + " + e % " + p + ") % " + p
	}
	wantPG := "((" + lane("2147483647", "918") + " + 2147483647) % 2147483647) * ((" + lane("2147483629", "907") + " + 2147483629) % 2147483629 + 1)"
	if pg != wantPG {
		t.Errorf("PostgreSQL row hash:\n%s\nwant\n%s", pg, wantPG)
	}
	ch := chRowHashOf(ins)
	for _, part := range []string{
		"(((((toInt64(`id`) % toInt64(2147483647)) * toInt64(918) + toInt64(`n`)) * toInt64(918) + ",
		"if(isNull(`x`), toInt64(2147483648), toInt64(assumeNotNull(`x`)) % toInt64(2147483629))) * toInt64(907) + toInt64(`y`) % toInt64(2147483629)) % toInt64(2147483629)",
	} {
		if !strings.Contains(ch, part) {
			t.Errorf("ClickHouse row hash lacks %s:\n%s", part, ch)
		}
	}
	if !strings.HasPrefix(ch, "toUInt64(") {
		t.Errorf("ClickHouse row hash is not UInt64: %s", ch)
	}
}

func TestHashInputs(t *testing.T) {
	pol := typemap.DefaultPolicies()
	cases := []struct {
		c              typemap.Column
		textual, small bool
		pgNull         bool
		pgPart, chPart string
	}{
		{c: typemap.Column{Name: "c", Type: "int4"}, small: true, pgPart: `"c"::bigint`},
		{c: typemap.Column{Name: "c", Type: "int8", Nullable: true}, pgNull: true, chPart: "assumeNotNull(`c`)"},
		{c: typemap.Column{Name: "c", Type: "numeric", Precision: 12, Scale: 2}, pgPart: `("c" * 100)::bigint`},
		{c: typemap.Column{Name: "c", Type: "mood", EnumLabels: []string{"a", "b'c"}}, small: true,
			pgPart: `(CASE "c" WHEN 'a' THEN 1 WHEN 'b''c' THEN 2 END)::bigint`, chPart: `['a', 'b\'c'], [1, 2], 0`},
		{c: typemap.Column{Name: "c", Type: "text", Nullable: true}, textual: true, pgNull: true, pgPart: `CASE WHEN "c" IS NOT NULL THEN ('x' || md5(`},
		{c: typemap.Column{Name: "c", Type: "float8"}, textual: true},
		{c: typemap.Column{Name: "c", Type: "int4", Array: true}, textual: true},
		{c: typemap.Column{Name: "c", Type: "numeric"}, textual: true}, // Decimal(38,10): text
	}
	for _, tc := range cases {
		n, err := typemap.NormExprs(tc.c, `"c"`, "`c`", chconn.Legacy(), pol)
		if err != nil {
			t.Fatal(err)
		}
		in := newHashInput(tc.c, `"c"`, "`c`", n, chconn.Legacy(), pol)
		if in.textual != tc.textual || in.small != tc.small || in.pgNull != tc.pgNull {
			t.Errorf("%s: textual %v small %v pgNull %v, want %v %v %v", tc.c.Type, in.textual, in.small, in.pgNull, tc.textual, tc.small, tc.pgNull)
		}
		if !strings.Contains(in.pg, tc.pgPart) || !strings.Contains(in.ch, tc.chPart) {
			t.Errorf("%s: %s / %s, want parts %s / %s", tc.c.Type, in.pg, in.ch, tc.pgPart, tc.chPart)
		}
	}
}
