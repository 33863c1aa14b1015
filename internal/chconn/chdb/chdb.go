//go:build chdb

// Package chdb implements chconn.Conn on the embedded chDB engine
// (ClickHouse 26.x as a library). chdb-go panics at init when libchdb.so is
// missing, so this package only builds with the chdb tag. chDB allows one
// session per process: Open it once (e.g. in TestMain) and Close it once.
package chdb

import (
	"context"
	"fmt"
	"strings"
	"sync"

	chdbgo "github.com/chdb-io/chdb-go/chdb"

	"github.com/sluice-cdc/sluice/internal/chconn"
)

// Conn is the process's chDB session.
type Conn struct {
	mu        sync.Mutex
	session   *chdbgo.Session
	profile   chconn.Profile
	closeOnce sync.Once
}

var _ chconn.Conn = (*Conn)(nil)

// Open starts the chDB session with its data in dir.
func Open(dir string) (*Conn, error) {
	s, err := chdbgo.NewSession(dir)
	if err != nil {
		return nil, fmt.Errorf("chconn/chdb: session in %s: %w", dir, err)
	}
	c := &Conn{session: s}
	rows, err := c.Query(context.Background(), "SELECT version()")
	if err != nil {
		c.Close()
		return nil, err
	}
	if c.profile, err = chconn.ProfileForString(rows[0][0]); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (c *Conn) Profile() chconn.Profile { return c.profile }

// Close ends the session; calling chDB's Close twice hangs, so only the
// first call does anything.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() { c.session.Close() })
	return nil
}

func (c *Conn) run(query, format string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	res, err := c.session.Query(query, format)
	if err != nil {
		return "", fmt.Errorf("chconn/chdb: %w", err)
	}
	defer res.Free()
	if err := res.Error(); err != nil {
		return "", fmt.Errorf("chconn/chdb: %w", err)
	}
	return string(res.Buf()), nil
}

func (c *Conn) Exec(_ context.Context, query string) error {
	_, err := c.run(query, "TabSeparated")
	return err
}

// Query reads the TabSeparated output, so every value is ClickHouse's own
// text form.
func (c *Conn) Query(_ context.Context, query string) ([][]string, error) {
	out, err := c.run(query, "TabSeparated")
	if err != nil {
		return nil, err
	}
	var rows [][]string
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if line == "" && out == "" {
			break
		}
		fields := strings.Split(line, "\t")
		for i, f := range fields {
			fields[i] = unescapeTSV(f)
		}
		rows = append(rows, fields)
	}
	return rows, nil
}

func unescapeTSV(s string) string {
	if !strings.Contains(s, `\`) || s == `\N` {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case '0':
			b.WriteByte(0)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// Insert renders the block as INSERT ... VALUES text: chDB only takes SQL.
func (c *Conn) Insert(ctx context.Context, table string, columns []string, data []chconn.Column) error {
	q, err := chconn.InsertSQL(table, columns, data)
	if err != nil {
		return err
	}
	if token := chconn.InsertDedupToken(ctx); token != "" {
		// INSERT INTO t (cols) SETTINGS ... VALUES ...
		q = strings.Replace(q, ") VALUES", ") SETTINGS insert_deduplication_token = "+chconn.QuoteString(token)+" VALUES", 1)
	}
	if err := c.Exec(ctx, q); err != nil {
		return fmt.Errorf("chconn/chdb: insert into %s: %w", table, err)
	}
	return nil
}
