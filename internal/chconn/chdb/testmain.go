//go:build chdb

package chdb

import (
	"fmt"
	"os"
)

// TestMainFor runs a test binary with the process's one chDB session: it
// opens the session in a fresh temporary folder, hands it to set, runs the
// tests, closes the session exactly once and removes the folder. Use it as
//
//	func TestMain(m *testing.M) { os.Exit(chdb.TestMainFor(m, "sluice-x-", func(c *chdb.Conn) { conn = c })) }
func TestMainFor(m interface{ Run() int }, prefix string, set func(*Conn)) int {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	conn, err := Open(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chDB:", err)
		return 1
	}
	set(conn)
	defer conn.Close()
	return m.Run()
}
