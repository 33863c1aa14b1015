package health

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// FormatLSN prints an LSN the way PostgreSQL does (16/B374D848).
func FormatLSN(v uint64) string { return fmt.Sprintf("%X/%X", v>>32, uint32(v)) }

// WriteJSON writes the report as one JSON document on one line, so that
// --watch output is JSON Lines.
func (r *StatusReport) WriteJSON(w io.Writer) error {
	return json.NewEncoder(w).Encode(r)
}

// WriteText writes the slot line, one row per table, then the breaches
// and errors.
func (r *StatusReport) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "sluice status  %s  group %s  (took %s)\n", r.At.Format(time.RFC3339), r.Group,
		time.Duration(r.Took).Round(time.Millisecond))
	if s := r.Slot; s != nil {
		active := "active"
		if !s.Active {
			active = "NOT active"
		}
		fmt.Fprintf(w, "slot %s: %s, %s not confirmed (confirmed_flush %s, current %s), %s retained\n",
			s.Name, active, Bytes(s.LagBytes), s.ConfirmedFlushLSN, s.CurrentLSN, Bytes(s.RetainedBytes))
	}
	rates := len(r.Tables) > 0 && r.Tables[0].ConsumedPerSecond != nil
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	head := "\nTABLE\tTOPIC\tLAG\tCOMMITTED/END\tCH ROWS\tCH _version\tCH cdc_timestamp\tBEHIND\tAGE"
	if rates {
		head += "\tIN/s\tOUT/s"
	}
	fmt.Fprintln(tw, head)
	for _, t := range r.Tables {
		version, when, age, behind := "-", "-", "-", "-"
		if t.Time != nil {
			version = FormatLSN(t.Version)
			when = t.Time.Format("2006-01-02 15:04:05.000")
			age = shortDuration(time.Duration(*t.Age))
		}
		if t.Behind != nil {
			behind = shortDuration(time.Duration(*t.Behind))
		}
		line := fmt.Sprintf("%s\t%s\t%d\t%d/%d\t%d\t%s\t%s\t%s\t%s", t.Table, t.Topic, t.Lag, t.Committed, t.End,
			t.Rows, version, when, behind, age)
		if rates && t.ConsumedPerSecond != nil {
			line += fmt.Sprintf("\t%.1f\t%.1f", *t.ProducedPerSecond, *t.ConsumedPerSecond)
		}
		fmt.Fprintln(tw, line)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, t := range r.Tables {
		for _, e := range t.Errors {
			fmt.Fprintf(w, "error: %s: %s\n", t.Table, r.withCause(t.Table, e))
		}
	}
	for _, e := range r.Errors {
		fmt.Fprintf(w, "error: %s\n", r.withCause("", e))
	}
	for _, b := range r.Breaches {
		fmt.Fprintf(w, "ALERT: %s\n", b)
	}
	if n := len(r.Unreachable); n > 0 {
		fmt.Fprintf(w, "%d error(s) because a server could not be reached\n", n)
	}
	return nil
}

// withCause puts the cause class in front of an error whose server could
// not be reached, unless the message already says it.
func (r *StatusReport) withCause(table, msg string) string {
	for _, o := range r.Unreachable {
		if o.Table == table && o.Error == msg && !strings.Contains(msg, o.Cause) {
			return o.Cause + ": " + msg
		}
	}
	return msg
}

// shortDuration rounds for reading: 850ms, 12.3s, 4m05s, 3h02m.
func shortDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
}
