// Package chconn is sluice's access layer to ClickHouse: a small Conn
// interface implemented by the native protocol (package native) and by the
// embedded chDB engine (package chdb, build tag chdb), plus the capability
// Profile derived once from the server version. Everything that generates
// ClickHouse SQL decides features from a Profile, never from the client.
package chconn

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a ClickHouse server version, e.g. 18.16.1 or 26.7.1.
type Version struct {
	Major, Minor, Patch int
}

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// AtLeast reports whether v >= major.minor.
func (v Version) AtLeast(major, minor int) bool {
	if v.Major != major {
		return v.Major > major
	}
	return v.Minor >= minor
}

// ParseVersion reads the leading numbers of a version() string such as
// "18.16.1" or "26.7.1.1-stable".
func ParseVersion(s string) (Version, error) {
	parts := strings.SplitN(strings.TrimSpace(s), ".", 4)
	if len(parts) < 2 {
		return Version{}, fmt.Errorf("chconn: version %q: want MAJOR.MINOR[.PATCH]", s)
	}
	var nums [3]int
	for i := 0; i < 3 && i < len(parts); i++ {
		digits := parts[i]
		if end := strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' }); end >= 0 {
			digits = digits[:end]
		}
		n, err := strconv.Atoi(digits)
		if err != nil {
			return Version{}, fmt.Errorf("chconn: version %q: %w", s, err)
		}
		nums[i] = n
	}
	return Version{nums[0], nums[1], nums[2]}, nil
}

// Profile lists what the server can do. Each flag is the oldest release
// where the feature is usable without experimental settings, so sluice
// never depends on a setting that a later release removes.
type Profile struct {
	Version Version
	// DateTime64 and Date32 (20.1 and 21.9; both are needed together for
	// sub-second timestamps and dates before 1970).
	DateTime64 bool
	Date32     bool
	// Bool column type (21.12); UInt8 before.
	Bool bool
	// ReplacingIsDeleted: ReplacingMergeTree(version, is_deleted) (23.2).
	ReplacingIsDeleted bool
	// LowCardinality without allow_experimental_low_cardinality_type (19.3).
	LowCardinality bool
	// LightweightDelete: DELETE FROM (23.3).
	LightweightDelete bool
	// InsertDedupToken: the insert_deduplication_token setting (22.2).
	InsertDedupToken bool
	// RefreshableMV: CREATE MATERIALIZED VIEW ... REFRESH (24.10).
	RefreshableMV bool
	// JSONType: the JSON column type (25.3).
	JSONType bool
	// Decimal256: Decimal(P,S) with P up to 76 (20.8); 38 before.
	Decimal256 bool
}

// ProfileFor derives the capability profile of a server version.
func ProfileFor(v Version) Profile {
	return Profile{
		Version:            v,
		DateTime64:         v.AtLeast(21, 9),
		Date32:             v.AtLeast(21, 9),
		Bool:               v.AtLeast(21, 12),
		ReplacingIsDeleted: v.AtLeast(23, 2),
		LowCardinality:     v.AtLeast(19, 3),
		LightweightDelete:  v.AtLeast(23, 3),
		InsertDedupToken:   v.AtLeast(22, 2),
		RefreshableMV:      v.AtLeast(24, 10),
		JSONType:           v.AtLeast(25, 3),
		Decimal256:         v.AtLeast(20, 8),
	}
}

// ProfileForString parses a version() string and derives its profile.
func ProfileForString(s string) (Profile, error) {
	v, err := ParseVersion(s)
	if err != nil {
		return Profile{}, err
	}
	return ProfileFor(v), nil
}

// MaxDecimalPrecision is the widest Decimal the server stores.
func (p Profile) MaxDecimalPrecision() int {
	if p.Decimal256 {
		return 76
	}
	return 38
}

// Legacy is the profile of the oldest supported server (18.16).
func Legacy() Profile { return ProfileFor(Version{18, 16, 1}) }

// Modern is the profile of the newest tested engine (26.7, chDB).
func Modern() Profile { return ProfileFor(Version{26, 7, 1}) }

// String names the profile for logs and golden-file names.
func (p Profile) String() string { return "clickhouse-" + p.Version.String() }
