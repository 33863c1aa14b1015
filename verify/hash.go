package verify

import (
	"fmt"
	"strconv"

	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/typemap"
)

// Row hash. Every column becomes one signed 64-bit input, computed the
// same way in PostgreSQL (bigint) and ClickHouse (Int64):
//   - columns with an integer normal form (typemap.IntExprs) are that
//     integer: no text rendering, which is what PostgreSQL pays most for;
//   - the others are the first 8 bytes, big-endian, of the MD5 of their
//     normalized text (typemap.NormExprs), hashed per column; for integer
//     keys they leave the row hash and are checksummed per segment
//     instead (tableSQL.orderedText).
//
// The inputs feed two lanes, each a Horner polynomial modulo a prime below
// 2^31 with its own multiplier below 2^10, reduced every laneSteps steps
// and at the end:
//
//	lane = ((((r0 * M + r1) * M + r2) * M + r3) % P) * M + r4 ...,  r = input % P
//
// Every term is at most 2^31 in magnitude, so three steps from a reduced
// value stay below 2^31 * (M^3 + M^2 + M + 1) < 2^61.01 and PostgreSQL's
// overflow-checked bigint arithmetic never raises. The modulo is the
// dearest of PostgreSQL's bigint operators (each an interpreted function
// call): reducing at every step, with multipliers near 2^31, cost the
// digest of 2M rows 0.83 s of lanes instead of 0.52 s. Both databases
// truncate % toward zero, so the lanes agree bit for bit with negative
// inputs too. Inputs below 2^31 in magnitude (int2, int4, bool, enum)
// enter as they are: r = input. A NULL input becomes r = 2^31, which no
// value gives, so NULL never collides with 0 or the empty string. Each
// multiplier is a primitive root of its prime, so the powers that weigh
// the positions are distinct for any table (below P - 1 columns) and
// values swapped between columns change the lanes; two lanes with
// distinct primes tell apart any two integers closer than P1*P2 (~2^62),
// so no plausible change of one value is lost. The row hash multiplies
// the lanes:
//
//	hash = ((lane1 + P1) % P1) * ((lane2 + P2) % P2 + 1)     (0 <= hash < 2^62)
//
// The product is what keeps a segment's sum from being linear in the
// values: with a linear row hash, swapping one column's values between
// two rows would leave the sum of the two rows' hashes unchanged.
const (
	laneP1, laneM1 = 2147483647, 918 // 2^31 - 1; 918 is a primitive root
	laneP2, laneM2 = 2147483629, 907 // 2^31 - 19; 907 is a primitive root
	// laneSteps is how many steps a lane takes between reductions.
	laneSteps = 3
	// nullInput is NULL's lane input: 2^31, which neither a reduced input
	// (|r| < P) nor a small one (-2^31 <= r < 2^31) can be.
	nullInput = 1 << 31
)

// laneStep is one Horner step of a lane, h * m + r, reduced modulo p
// when it is the steps-th since the last reduction or the last one.
// m and p are SQL literals (PostgreSQL and ClickHouse spell them
// differently).
func laneStep(h, r, m, p string, steps int, last bool) string {
	if steps%laneSteps == 0 || last {
		return fmt.Sprintf("((%s) * %s + %s) %% %s", h, m, r, p)
	}
	return fmt.Sprintf("(%s) * %s + %s", h, m, r)
}

// hashInput is one column's contribution to the row hash.
type hashInput struct {
	pg, ch string
	// pgNull: the PostgreSQL input can be NULL. chNull: the ClickHouse
	// column to test with isNull ("" when it is not Nullable).
	pgNull bool
	chNull string
	// small: |input| < 2^31 (int2, int4, bool, enum), so it needs no
	// reduction before entering a lane.
	small bool
	// textual: the input is the MD5 of the column's normalized text.
	textual bool
}

// newHashInput builds column c's input: its integer form, else the MD5 of
// its normalized text n.
func newHashInput(c typemap.Column, pgCol, chCol string, n typemap.Norm, p chconn.Profile, pol typemap.Policies) hashInput {
	in := hashInput{pgNull: typemap.PGNullable(c, pol)}
	if typemap.CHNullable(c) {
		in.chNull = chCol
	}
	if f, ok := typemap.IntExprs(c, pgCol, chCol, p, pol); ok {
		in.pg, in.ch = f.PG, f.CH
		switch c.Kind() {
		case typemap.KindInt16, typemap.KindInt32, typemap.KindBool, typemap.KindEnum:
			in.small = true
		}
		return in
	}
	in.textual = true
	in.pg, in.ch = pgMD5Int(n.PG), chMD5Int(n.CH)
	if in.pgNull {
		// NULL skips the MD5 (n.PG would hash the NULL tag).
		in.pg = fmt.Sprintf("(CASE WHEN %s IS NOT NULL THEN %s END)", pgCol, in.pg)
	}
	return in
}

// pgMD5Int is the first 8 bytes of the MD5 of a text, as a signed bigint
// (big-endian; the cast to bit(64) keeps the first 64 of the 128 bits).
func pgMD5Int(text string) string {
	return fmt.Sprintf("('x' || md5(%s))::bit(64)::bigint", text)
}

// chMD5Int is the same bits in ClickHouse.
func chMD5Int(text string) string {
	return fmt.Sprintf("reinterpretAsInt64(reverse(substring(MD5(%s), 1, 8)))", text)
}

// pgRowHashOf is the row hash in PostgreSQL of the inputs given as
// expressions (the inputs themselves, or columns of a subquery holding
// them, so that PostgreSQL computes each once).
func pgRowHashOf(ins []hashInput, exprs []string) string {
	lane := func(p, m int64) string {
		h := ""
		for i, in := range ins {
			r := fmt.Sprintf("%s %% %d", exprs[i], p)
			if in.small {
				r = exprs[i]
			}
			if in.pgNull {
				r = fmt.Sprintf("coalesce(%s, %d)", r, nullInput)
			}
			if i == 0 {
				h = r
				continue
			}
			h = laneStep(h, r, strconv.FormatInt(m, 10), strconv.FormatInt(p, 10), i, i == len(ins)-1)
		}
		return h
	}
	return fmt.Sprintf("((%s + %d) %% %d) * ((%s + %d) %% %d + 1)",
		lane(laneP1, laneM1), laneP1, laneP1, lane(laneP2, laneM2), laneP2, laneP2)
}

// chRowHashOf is the row hash in ClickHouse, as UInt64 (it is never
// negative). ClickHouse computes a repeated subexpression once. Constants
// are Int64 so every step is Int64 arithmetic, as in PostgreSQL.
func chRowHashOf(ins []hashInput) string {
	lane := func(p, m int64) string {
		P, M := chInt(p), chInt(m)
		h := ""
		for i, in := range ins {
			r := fmt.Sprintf("%s %% %s", in.ch, P)
			if in.small {
				r = in.ch
			}
			if in.chNull != "" {
				r = fmt.Sprintf("if(isNull(%s), %s, %s)", in.chNull, chInt(nullInput), r)
			}
			if i == 0 {
				h = r
				continue
			}
			h = laneStep(h, r, M, P, i, i == len(ins)-1)
		}
		return h
	}
	return fmt.Sprintf("toUInt64(((%s + %s) %% %s) * ((%s + %s) %% %s + 1))",
		lane(laneP1, laneM1), chInt(laneP1), chInt(laneP1), lane(laneP2, laneM2), chInt(laneP2), chInt(laneP2))
}

func chInt(n int64) string { return "toInt64(" + strconv.FormatInt(n, 10) + ")" }

// pgInputColumn names input i in the PostgreSQL digest subquery.
func pgInputColumn(i int) string { return "sluice_c" + strconv.Itoa(i) + "_" }

// pgInputs lists the inputs as subquery columns (`expr AS name`) and the
// names the row hash reads them by.
func pgInputs(ins []hashInput) (cols, names []string) {
	for i, in := range ins {
		names = append(names, pgInputColumn(i))
		cols = append(cols, in.pg+" AS "+pgInputColumn(i))
	}
	return cols, names
}

func pgInputExprs(ins []hashInput) []string {
	out := make([]string, len(ins))
	for i, in := range ins {
		out[i] = in.pg
	}
	return out
}
