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
// 2^31 with its own multiplier, so every intermediate stays below 2^62 and
// PostgreSQL's overflow-checked bigint arithmetic never raises:
//
//	lane = (...((r0 * M + r1) % P) * M + r2) % P ...,  r = input % P
//
// Both databases truncate % toward zero, so the lanes agree bit for bit
// with negative inputs too. Inputs below 2^31 in magnitude (int2, int4,
// bool, enum) enter as they are: r = input. A NULL input becomes r = 2^31,
// which no value gives, so NULL never collides with 0 or the empty
// string. Positions weigh inputs by different powers of M, so values
// swapped between columns change the lanes; two lanes with distinct primes
// tell apart any two integers closer than P1*P2 (~2^62), so no plausible
// change of one value is lost. The row hash multiplies the lanes:
//
//	hash = ((lane1 + P1) % P1) * ((lane2 + P2) % P2 + 1)     (0 <= hash < 2^62)
//
// The product is what keeps a segment's sum from being linear in the
// values: with a linear row hash, swapping one column's values between
// two rows would leave the sum of the two rows' hashes unchanged.
const (
	laneP1, laneM1 = 2147483647, 1588635695 // 2^31 - 1
	laneP2, laneM2 = 2147483629, 1117695901 // 2^31 - 19
	// nullInput is NULL's lane input: 2^31, which neither a reduced input
	// (|r| < P) nor a small one (-2^31 <= r < 2^31) can be.
	nullInput = 1 << 31
)

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
			h = fmt.Sprintf("((%s) * %d + %s) %% %d", h, m, r, p)
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
			h = fmt.Sprintf("((%s) * %s + %s) %% %s", h, M, r, P)
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
