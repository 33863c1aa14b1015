package verify

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// WriteText prints the report for people: one line per table, then the
// differing keys.
func WriteText(w io.Writer, rep *Report) error {
	var b strings.Builder
	for _, t := range rep.Tables {
		fmt.Fprintf(&b, "%-8s %s  rows postgres=%d clickhouse=%d  (%s)\n", strings.ToUpper(string(t.Status)), t.Name(), t.PGRows, t.CHRows, t.Duration.Round(1e6))
		if t.Error != "" {
			fmt.Fprintf(&b, "    error: %s\n", t.Error)
		}
		for _, d := range t.Diffs {
			fmt.Fprintf(&b, "    %s\n", diffLine(d))
		}
		if t.Truncated {
			fmt.Fprintf(&b, "    ... stopped at --max-diffs %d\n", len(t.Diffs))
		}
		if t.Status == Differs && len(t.Diffs) == 0 && !t.Truncated {
			b.WriteString("    checksums differ but no differing key was found (rows changed during the comparison?)\n")
		}
		for _, d := range t.InFlight {
			fmt.Fprintf(&b, "    in flight: %s (%s)\n", diffLine(d), d.Reason)
		}
	}
	asOf := ""
	if rep.AsOf != "" {
		asOf = ", as of " + rep.AsOf
	}
	fmt.Fprintf(&b, "verdict: %s (%d table(s), source LSN %s%s, %s)\n", rep.Verdict, len(rep.Tables), rep.SourceLSN, asOf, rep.Duration.Round(1e6))
	_, err := io.WriteString(w, b.String())
	return err
}

func diffLine(d Diff) string {
	s := fmt.Sprintf("key (%s): %s", strings.Join(d.Key, ", "), d.Kind)
	if len(d.Columns) > 0 {
		s += " [" + strings.Join(d.Columns, ", ") + "]"
	}
	return s
}

// WriteJSON prints the report as one JSON document.
func WriteJSON(w io.Writer, rep *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// JUnit XML, the subset CI systems read: one test case per table (or
// table and month), a failure for a difference, an error when the table
// could not be compared.
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Time     float64     `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      float64       `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit prints the report as JUnit XML.
func WriteJUnit(w io.Writer, rep *Report) error {
	suite := junitSuite{Name: "sluice verify", Time: rep.Duration.Seconds()}
	for _, t := range rep.Tables {
		c := junitCase{Name: t.Name(), Classname: "sluice.verify", Time: t.Duration.Seconds(),
			SystemOut: fmt.Sprintf("rows postgres=%d clickhouse=%d checksum postgres=%s clickhouse=%s", t.PGRows, t.CHRows, t.PGChecksum, t.CHChecksum)}
		switch t.Status {
		case Differs:
			var lines []string
			for _, d := range t.Diffs {
				lines = append(lines, diffLine(d))
			}
			if t.Truncated {
				lines = append(lines, "... stopped at --max-diffs")
			}
			c.Failure = &junitProblem{Type: "differs", Text: strings.Join(lines, "\n"),
				Message: fmt.Sprintf("%d differing key(s); rows postgres=%d clickhouse=%d", len(t.Diffs), t.PGRows, t.CHRows)}
			suite.Failures++
		case Error:
			c.Error = &junitProblem{Type: "could_not_compare", Message: t.Error}
			suite.Errors++
		}
		suite.Cases = append(suite.Cases, c)
		suite.Tests++
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(junitSuites{Suites: []junitSuite{suite}}); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
