package health

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/sluice-cdc/sluice/internal/secure"
)

// connectClient talks to the Kafka Connect REST API.
type connectClient struct {
	base string
	http *http.Client
}

func newConnectClient(base string, c Config) *connectClient {
	return &connectClient{base: strings.TrimRight(base, "/"), http: c.Connect.Client(c.Timeout)}
}

// errNotFound is a 404 from Kafka Connect.
var errNotFound = errors.New("not found")

// errConnectAuth is a 401 from Kafka Connect: the REST listener wants
// (other) credentials.
var errConnectAuth = errors.New(secure.CauseAuth)

// get decodes the JSON answer of GET path into out. Errors name the path
// with the URL's password masked.
func (c *connectClient) get(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return fmt.Errorf("kafka connect %s: %v", RedactDSN(c.base), err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL, with its password
		}
		return fmt.Errorf("kafka connect GET %s%s: %w", RedactDSN(c.base), path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("kafka connect GET %s: %w", path, err)
	}
	switch resp.StatusCode {
	case http.StatusNotFound:
		return fmt.Errorf("kafka connect GET %s: %w", path, errNotFound)
	case http.StatusUnauthorized:
		return fmt.Errorf("kafka connect GET %s%s: HTTP 401: %w", RedactDSN(c.base), path, errConnectAuth)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("kafka connect GET %s: HTTP %d: %s", path, resp.StatusCode, firstLine(string(body)))
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("kafka connect GET %s: %w", path, err)
	}
	return nil
}

type connectorState struct {
	State string `json:"state"`
	Trace string `json:"trace"`
}

type connectorStatus struct {
	Name      string         `json:"name"`
	Connector connectorState `json:"connector"`
	Tasks     []struct {
		ID int `json:"id"`
		connectorState
	} `json:"tasks"`
}

func (c *connectClient) version(ctx context.Context) (string, error) {
	var v struct {
		Version string `json:"version"`
	}
	err := c.get(ctx, "/", &v)
	return v.Version, err
}

func (c *connectClient) list(ctx context.Context) ([]string, error) {
	var names []string
	err := c.get(ctx, "/connectors", &names)
	sort.Strings(names)
	return names, err
}

func (c *connectClient) status(ctx context.Context, name string) (connectorStatus, error) {
	var st connectorStatus
	err := c.get(ctx, "/connectors/"+url.PathEscape(name)+"/status", &st)
	return st, err
}

// config reads a connector's configuration. It holds database.password:
// callers read names from it and never print it.
func (c *connectClient) config(ctx context.Context, name string) (connectorConfig, error) {
	var cfg connectorConfig
	err := c.get(ctx, "/connectors/"+url.PathEscape(name)+"/config", &cfg)
	return cfg, err
}

// connectorConfig is a Debezium connector's configuration.
type connectorConfig map[string]string

func (cc connectorConfig) isPostgres() bool {
	return strings.Contains(cc["connector.class"], "PostgresConnector")
}

// slot is slot.name, with Debezium's default.
func (cc connectorConfig) slot() string {
	if s := cc["slot.name"]; s != "" {
		return s
	}
	return "debezium"
}

// publication is publication.name, with Debezium's default.
func (cc connectorConfig) publication() string {
	if s := cc["publication.name"]; s != "" {
		return s
	}
	return "dbz_publication"
}

func (cc connectorConfig) prefix() string {
	if p := cc["topic.prefix"]; p != "" {
		return p
	}
	return cc["database.server.name"] // Debezium 1.x
}

var plainTable = regexp.MustCompile(`^[A-Za-z0-9_$]+\.[A-Za-z0-9_$]+$`)

// topics derives the data topics <prefix>.<schema>.<table>: names when
// table.include.list lists plain schema.table entries, else a pattern
// (the list's entries are regular expressions over schema.table).
func (cc connectorConfig) topics() ([]string, *regexp.Regexp) {
	prefix := cc.prefix()
	if prefix == "" {
		return nil, nil
	}
	var entries []string
	for _, e := range strings.Split(cc["table.include.list"], ",") {
		if e = strings.TrimSpace(e); e != "" {
			entries = append(entries, e)
		}
	}
	if len(entries) == 0 {
		return nil, regexp.MustCompile(`^` + regexp.QuoteMeta(prefix) + `\.[^.]+\.[^.]+$`)
	}
	var names []string
	for _, e := range entries {
		if !plainTable.MatchString(e) {
			re, err := regexp.Compile(`^` + regexp.QuoteMeta(prefix) + `\.(?:` + strings.Join(entries, "|") + `)$`)
			if err != nil {
				return nil, nil
			}
			return nil, re
		}
		names = append(names, prefix+"."+e)
	}
	return names, nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// checkConnect checks the connector (every connector when none is named)
// and applies what a Debezium PostgreSQL connector's configuration tells
// to cfg.
func checkConnect(ctx context.Context, cfg *Config) []Item {
	if cfg.ConnectURL == "" {
		return []Item{item(Connect, "connector", cfg.Connector, Skip, "no Kafka Connect URL given", "")}
	}
	cl := newConnectClient(cfg.ConnectURL, *cfg)
	v, err := cl.version(ctx)
	if err != nil {
		return []Item{withCause(item(Connect, "reachable", "", Fail, err.Error(),
			"start the Kafka Connect worker or correct --connect-url (the REST listener, e.g. http://host:8083)"), err)}
	}
	items := []Item{item(Connect, "reachable", "", OK, "Kafka Connect "+v, "")}
	names := []string{cfg.Connector}
	if cfg.Connector == "" {
		if names, err = cl.list(ctx); err != nil {
			return append(items, withCause(item(Connect, "connector", "", Fail, err.Error(), "check the Kafka Connect worker's log"), err))
		}
		if len(names) == 0 {
			return append(items, item(Connect, "connector", "", Fail, "no connector is registered",
				"register the Debezium connector (scripts/connectors/register, or PUT /connectors/<name>/config)"))
		}
	}
	var pg []connectorConfig
	for _, name := range names {
		items = append(items, connectorItem(ctx, cl, name))
		cc, err := cl.config(ctx, name)
		if err == nil && cc.isPostgres() {
			pg = append(pg, cc)
		}
	}
	// Discovery needs one PostgreSQL connector: with several, the slot and
	// topics must be named (--connector, or --slot and --topics).
	if len(pg) == 1 {
		cfg.discovered(pg[0])
	}
	return items
}

// connectorItem reports a connector's and its tasks' state.
func connectorItem(ctx context.Context, cl *connectClient, name string) Item {
	st, err := cl.status(ctx, name)
	if errors.Is(err, errNotFound) {
		return item(Connect, "connector", name, Fail, fmt.Sprintf("connector %q is not registered", name),
			"register it: PUT "+RedactDSN(cl.base)+"/connectors/"+name+"/config (scripts/connectors/register)")
	}
	if err != nil {
		return withCause(item(Connect, "connector", name, Fail, err.Error(), "check the Kafka Connect worker's log"), err)
	}
	resume := "resume it: curl -X PUT " + RedactDSN(cl.base) + "/connectors/" + name + "/resume"
	restart := "fix the cause in the trace, then: curl -X POST '" + RedactDSN(cl.base) + "/connectors/" + name + "/restart?includeTasks=true&onlyFailed=true'"
	switch st.Connector.State {
	case "RUNNING":
	case "PAUSED":
		return item(Connect, "connector", name, Fail, "connector is PAUSED: no changes reach Kafka and the slot retains WAL", resume)
	case "STOPPED":
		return item(Connect, "connector", name, Fail, "connector is STOPPED: no changes reach Kafka and the slot retains WAL", resume)
	case "FAILED":
		return item(Connect, "connector", name, Fail, "connector FAILED: "+firstLine(st.Connector.Trace), restart)
	default:
		return item(Connect, "connector", name, Fail, "connector is "+st.Connector.State,
			"wait for a worker to take it, or check the Kafka Connect worker's log")
	}
	if len(st.Tasks) == 0 {
		return item(Connect, "connector", name, Fail, "connector is RUNNING but has no task",
			"check the connector's configuration and the worker's log")
	}
	for _, t := range st.Tasks {
		switch t.State {
		case "RUNNING":
		case "FAILED":
			return item(Connect, "connector", name, Fail, fmt.Sprintf("task %d FAILED: %s", t.ID, firstLine(t.Trace)), restart)
		case "PAUSED":
			return item(Connect, "connector", name, Fail, fmt.Sprintf("task %d is PAUSED", t.ID), resume)
		default:
			return item(Connect, "connector", name, Fail, fmt.Sprintf("task %d is %s", t.ID, t.State),
				"wait for the rebalance, or check the Kafka Connect worker's log")
		}
	}
	return item(Connect, "connector", name, OK, fmt.Sprintf("RUNNING, %s running", plural(len(st.Tasks), "task")), "")
}
