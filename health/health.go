// Package health is the library behind `sluice check` and `sluice status`.
//
// Check inspects every component of the pipeline once and reports one Item
// per condition (ok, warn, fail or skip) with the fix in one line:
// PostgreSQL (reachable, wal_level, the Debezium slot and publication, the
// slot's retained WAL), Kafka (reachable, topics and partitions, the
// consumer group's committed offsets), Kafka Connect (the connector's and
// its tasks' state) and ClickHouse (reachable, capability profile, each
// target table against the type contract of package ddl). A failed item
// whose server could not be reached, authenticated or TLS-verified
// carries a Cause (Report.Unreachable lists them: sluice check exits 4
// for those, 3 for the other failures).
//
// Status measures freshness per table: the group's Kafka lag in messages,
// the slot's lag in bytes, the newest _version (LSN) and cdc_timestamp in
// ClickHouse, and how far that is behind the newest change Debezium
// published for the table. Errors follow check's cause rule: those whose
// server could not be reached, authenticated or TLS-verified are listed in
// StatusReport.Unreachable with their cause (sluice status exits 4, which
// wins), the others (a missing topic, slot or table) are findings (3).
//
// Where a value can be discovered it is: with a Kafka Connect URL and a
// connector name, the slot, the publication and the topics come from the
// connector's configuration (Resolve). Secrets are never printed: DSNs and
// URLs go through RedactDSN, and the connector's configuration (which holds
// database.password) is read but never shown.
package health

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sluice-cdc/sluice/internal/secure"
)

// Level is the outcome of one check.
type Level string

const (
	OK   Level = "ok"
	Warn Level = "warn"
	Fail Level = "fail"
	// Skip means the check could not run: not configured (no --connect-url)
	// or its prerequisite failed (ClickHouse unreachable). It never fails
	// the run by itself; the prerequisite's own item does.
	Skip Level = "skip"
)

// Component names.
const (
	Postgres   = "postgres"
	Kafka      = "kafka"
	Connect    = "connect"
	ClickHouse = "clickhouse"
)

// Item is one checked condition.
type Item struct {
	Component string `json:"component"`
	// Check names the condition: reachable, wal_level, slot, publication,
	// retained_wal, topic, group, connector, profile, table.
	Check string `json:"check"`
	// Target is what was checked: a slot, topic, table or connector name.
	Target  string `json:"target,omitempty"`
	Level   Level  `json:"status"`
	Message string `json:"message"`
	// Fix is the one-line remedy of a warn or fail.
	Fix string `json:"fix,omitempty"`
	// Cause is set on a failed item whose server could not be reached,
	// authenticated or TLS-verified: the cause class (secure.Cause*, e.g.
	// "connection refused", "authentication failed"). Such items make
	// sluice check exit 4 instead of 3.
	Cause string `json:"cause,omitempty"`
}

func item(component, check, target string, lvl Level, msg, fix string) Item {
	return Item{Component: component, Check: check, Target: target, Level: lvl, Message: msg, Fix: fix}
}

// withCause sets a failed item's Cause from the error that failed it.
func withCause(it Item, err error) Item {
	if it.Level == Fail {
		it.Cause = connCause(err)
	}
	return it
}

// connCause is the cause class of err when it means the server could not
// be reached, authenticated or TLS-verified, "" when the server answered
// (a missing database or grant, a failed query: a finding, not an outage).
// A refused authorization is a finding too: the credentials were
// accepted, a GRANT or ACL fixes it.
func connCause(err error) string {
	if errors.Is(err, errConnectAuth) {
		return secure.CauseAuth
	}
	// Classify looks through secure.ConnError (whose own Cause may be the
	// catch-all "cannot connect") to the driver's error.
	if c := secure.Classify(err); c != secure.CauseAuthorization {
		return c
	}
	return ""
}

// Report is the result of Check.
type Report struct {
	CheckedAt time.Time `json:"checked_at"`
	// Status is the worst level: fail, else warn, else ok.
	Status Level `json:"status"`
	// Endpoints are the checked servers, passwords masked.
	Endpoints map[string]string `json:"endpoints"`
	Items     []Item            `json:"items"`
	Counts    map[Level]int     `json:"counts"`
}

func (r *Report) add(items ...Item) { r.Items = append(r.Items, items...) }

// finish computes the counts and the overall status.
func (r *Report) finish() {
	r.Counts = map[Level]int{OK: 0, Warn: 0, Fail: 0, Skip: 0}
	r.Status = OK
	for _, it := range r.Items {
		r.Counts[it.Level]++
		switch {
		case it.Level == Fail:
			r.Status = Fail
		case it.Level == Warn && r.Status == OK:
			r.Status = Warn
		}
	}
}

// Failed lists the failed items.
func (r *Report) Failed() []Item {
	var out []Item
	for _, it := range r.Items {
		if it.Level == Fail {
			out = append(out, it)
		}
	}
	return out
}

// Unreachable lists the failed items whose server could not be reached,
// authenticated or TLS-verified (Cause set).
func (r *Report) Unreachable() []Item {
	var out []Item
	for _, it := range r.Failed() {
		if it.Cause != "" {
			out = append(out, it)
		}
	}
	return out
}

// WriteJSON writes the report as one indented JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes one line per item, grouped by component, each warn or
// fail followed by its fix.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	last := ""
	for _, it := range r.Items {
		if it.Component != last {
			if last != "" {
				fmt.Fprintln(tw)
			}
			fmt.Fprintf(tw, "%s  %s\n", strings.ToUpper(it.Component), r.Endpoints[it.Component])
			last = it.Component
		}
		check := it.Check
		if it.Target != "" {
			check += " " + it.Target
		}
		msg := it.Message
		if it.Cause != "" && !strings.Contains(msg, it.Cause) {
			msg = it.Cause + ": " + msg
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", it.Level, check, msg)
		if it.Fix != "" && (it.Level == Warn || it.Level == Fail) {
			fmt.Fprintf(tw, "  \t\tfix: %s\n", it.Fix)
		}
	}
	fmt.Fprintf(tw, "\n%s: %d ok, %d warn, %d fail, %d skipped", r.Status,
		r.Counts[OK], r.Counts[Warn], r.Counts[Fail], r.Counts[Skip])
	if down := r.Unreachable(); len(down) > 0 {
		fmt.Fprintf(tw, "; %d failed because a server could not be reached", len(down))
	}
	fmt.Fprintln(tw)
	return tw.Flush()
}
