package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"

	"github.com/sluice-cdc/sluice/ddl"
	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/debezium"
	"github.com/sluice-cdc/sluice/internal/kafkasrc"
)

// Thresholds turn a status into an alert. Zero disables a threshold.
type Thresholds struct {
	// MaxLag is the most Kafka lag (messages) a table may have.
	MaxLag int64
	// MaxAge is how far a table's ClickHouse data may be behind the newest
	// change Debezium published for it.
	MaxAge time.Duration
	// MaxSlotLag is the most WAL (bytes) the slot's consumer may not have
	// confirmed.
	MaxSlotLag int64
}

// StatusReport is one freshness measurement.
type StatusReport struct {
	At    time.Time `json:"at"`
	Group string    `json:"group"`
	// Slot is nil when no slot is configured or PostgreSQL is unreachable.
	Slot   *SlotStatus   `json:"slot"`
	Tables []TableStatus `json:"tables"`
	// Breaches names every threshold exceeded.
	Breaches []string `json:"breaches"`
	// Errors names what could not be measured: a server that could not be
	// reached, or one that answered that something is missing (a topic, the
	// slot, a table).
	Errors []string `json:"errors"`
	// Unreachable lists the errors, the report's and its tables', whose
	// server could not be reached, authenticated or TLS-verified, with the
	// cause class: sluice status exits 4 for those, 3 for the other errors
	// (the cause rule of sluice check).
	Unreachable []Outage `json:"unreachable"`
	// Took is how long the measurement took.
	Took Seconds `json:"took_seconds"`
}

// Outage is an error of a StatusReport whose server could not be reached,
// authenticated or TLS-verified.
type Outage struct {
	// Table is the table whose measurement failed, "" for the report's own.
	Table string `json:"table,omitempty"`
	// Cause is the cause class (secure.Cause*, e.g. "connection refused").
	Cause string `json:"cause"`
	// Error is the error as listed in Errors.
	Error string `json:"error"`
}

// SlotStatus is the replication slot's position.
type SlotStatus struct {
	Name              string `json:"name"`
	Active            bool   `json:"active"`
	CurrentLSN        string `json:"current_lsn"`
	ConfirmedFlushLSN string `json:"confirmed_flush_lsn"`
	RestartLSN        string `json:"restart_lsn"`
	// LagBytes is current - confirmed_flush_lsn: WAL the connector has not
	// confirmed. Debezium confirms when it commits its offsets
	// (offset.flush.interval.ms), so this does not drop to zero at once.
	LagBytes int64 `json:"lag_bytes"`
	// RetainedBytes is current - restart_lsn: WAL kept for the slot.
	RetainedBytes int64 `json:"retained_bytes"`
}

// TableStatus is the freshness of one table.
type TableStatus struct {
	Table      string `json:"table"`
	Topic      string `json:"topic"`
	Partitions int    `json:"partitions"`
	// Committed and End are the group's committed offsets and the high
	// watermarks, summed over the partitions (a partition without a commit
	// counts its log start). Lag is their difference: messages not yet
	// replicated.
	Committed int64 `json:"committed"`
	End       int64 `json:"end"`
	Lag       int64 `json:"lag"`
	// SourceLSN and SourceTime are the newest change Debezium published for
	// the table (the last change record of each partition).
	SourceLSN  uint64     `json:"source_lsn"`
	SourceTime *time.Time `json:"source_time"`
	// Rows, Version and Time are ClickHouse's row count (before merges),
	// newest _version and newest cdc_timestamp.
	Rows    uint64     `json:"clickhouse_rows"`
	Version uint64     `json:"clickhouse_version"`
	Time    *time.Time `json:"clickhouse_time"`
	// Behind is SourceTime - Time, never negative: how far ClickHouse is
	// behind the source. A quiet table is 0 behind, however old its data.
	// Nil when either side has no change (an empty ClickHouse table).
	Behind *Seconds `json:"behind_seconds"`
	// Age is At - Time: how old ClickHouse's newest change is.
	Age *Seconds `json:"age_seconds"`
	// ConsumedPerSecond and ProducedPerSecond are the rates of the
	// committed offsets and of the high watermarks since the previous
	// measurement (--watch only).
	ConsumedPerSecond *float64 `json:"consumed_per_second,omitempty"`
	ProducedPerSecond *float64 `json:"produced_per_second,omitempty"`
	Errors            []string `json:"errors,omitempty"`
	// errs are the errors behind Errors, for their causes.
	errs []error
}

// fail records an error of the table's measurement.
func (t *TableStatus) fail(err error) {
	t.Errors = append(t.Errors, err.Error())
	t.errs = append(t.errs, err)
}

// Seconds is a duration printed as seconds in JSON.
type Seconds time.Duration

func (s Seconds) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, time.Duration(s).Seconds(), 'f', 3, 64), nil
}

// Status measures the freshness of every table. prev, the previous
// measurement or nil, gives the rates. Problems reaching a server are in
// the report's Errors, not returned: the rest is still measured.
func Status(ctx context.Context, cfg Config, th Thresholds, prev *StatusReport) *StatusReport {
	cfg = cfg.withDefaults()
	begin := time.Now()
	r := &StatusReport{Group: cfg.Group}
	if cfg.ConnectURL != "" {
		r.fail(discover(ctx, &cfg))
	}
	r.Group = cfg.Group
	tables, err := kafkaStatus(ctx, cfg)
	r.fail(err)
	r.Slot, err = slotStatus(ctx, cfg)
	r.fail(err)
	r.At = time.Now().UTC()
	r.fail(clickhouseStatus(ctx, cfg, tables, r.At))
	r.Tables = tables
	for _, t := range tables {
		for _, err := range t.errs {
			r.classify(t.Table, err)
		}
	}
	r.rates(prev)
	r.evaluate(th)
	r.Took = Seconds(time.Since(begin))
	return r
}

// fail records err, if any, as one of the report's errors.
func (r *StatusReport) fail(err error) {
	if err == nil {
		return
	}
	r.Errors = append(r.Errors, err.Error())
	r.classify("", err)
}

// classify lists err in Unreachable when its server could not be reached,
// authenticated or TLS-verified (the same classes as check's Item.Cause).
func (r *StatusReport) classify(table string, err error) {
	if c := connCause(err); c != "" {
		r.Unreachable = append(r.Unreachable, Outage{Table: table, Cause: c, Error: err.Error()})
	}
}

// discover reads the connector's configuration for the slot and topics.
func discover(ctx context.Context, cfg *Config) error {
	cl := newConnectClient(cfg.ConnectURL, *cfg)
	names := []string{cfg.Connector}
	if cfg.Connector == "" {
		var err error
		if names, err = cl.list(ctx); err != nil {
			return err
		}
	}
	var pg []connectorConfig
	for _, n := range names {
		cc, err := cl.config(ctx, n)
		if err != nil {
			return err
		}
		if cc.isPostgres() {
			pg = append(pg, cc)
		}
	}
	if len(pg) != 1 {
		return fmt.Errorf("kafka connect: %d PostgreSQL connectors, name one with --connector", len(pg))
	}
	cfg.discovered(pg[0])
	return nil
}

// kafkaStatus plans the group's lag per table and reads each topic's
// newest change.
func kafkaStatus(ctx context.Context, cfg Config) ([]TableStatus, error) {
	if len(cfg.Brokers) == 0 || cfg.Group == "" {
		return nil, errors.New("kafka: brokers and group are needed for the lag")
	}
	if len(cfg.Topics) == 0 && cfg.TopicPattern == nil {
		return nil, errors.New("kafka: no topics (give --topics, --topic-pattern or --connector)")
	}
	existing, _, err := kafkaTopics(ctx, cfg)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(existing))
	for t := range existing {
		names = append(names, t)
	}
	found := cfg.selectTopics(names)
	var missing []string
	for _, t := range cfg.Topics {
		if _, ok := existing[t]; !ok {
			missing = append(missing, t)
		}
	}
	var errs []error
	if len(missing) > 0 {
		errs = append(errs, fmt.Errorf("kafka: topics do not exist: %v", missing))
	}
	if len(found) == 0 {
		return nil, errors.Join(append(errs, errors.New("kafka: no topic found"))...)
	}
	plan, err := kafkasrc.Plan(ctx, kafkasrc.Config{Brokers: cfg.Brokers, GroupID: cfg.Group, Topics: found, Timeout: cfg.Timeout,
		Dialer: cfg.Kafka.Dialer(cfg.Timeout, "sluice-check")})
	if err != nil {
		return nil, errors.Join(append(errs, err)...)
	}
	byTopic := map[string]*TableStatus{}
	var out []TableStatus
	for _, ref := range cfg.tableRefs(found) {
		out = append(out, TableStatus{Table: ref.Table, Topic: ref.Topic})
	}
	for i := range out {
		byTopic[out[i].Topic] = &out[i]
	}
	client, release := newKafkaClient(cfg)
	defer release()
	dec := debezium.NewDecoder()
	for _, p := range plan.Partitions {
		ts := byTopic[p.Topic]
		if ts == nil {
			continue // heartbeat topics and the like
		}
		ts.Partitions++
		ts.Committed += p.Start
		ts.End += p.Target
		ts.Lag += p.Lag
		if err := newestChange(ctx, client, dec, p, ts); err != nil {
			ts.fail(err)
		}
	}
	return out, errors.Join(errs...)
}

// headWindow is how many records before the high watermark are read to
// find a partition's newest change (tombstones follow deletes).
const headWindow = 8

// newestChange reads the last records of a partition and raises ts's
// SourceLSN and SourceTime to its newest change.
func newestChange(ctx context.Context, client *kafka.Client, dec *debezium.Decoder, p kafkasrc.PartitionPlan, ts *TableStatus) error {
	if p.Target <= p.LogStart {
		return nil
	}
	from := max(p.LogStart, p.Target-headWindow)
	res, err := client.Fetch(ctx, &kafka.FetchRequest{Topic: p.Topic, Partition: p.Partition, Offset: from,
		MinBytes: 1, MaxBytes: 8 << 20, MaxWait: time.Second})
	if err != nil {
		return fmt.Errorf("kafka: fetch %s/%d: %w", p.Topic, p.Partition, err)
	}
	if res.Error != nil {
		return fmt.Errorf("kafka: fetch %s/%d: %w", p.Topic, p.Partition, res.Error)
	}
	var rec debezium.Record
	for {
		r, err := res.Records.ReadRecord()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("kafka: read %s/%d: %w", p.Topic, p.Partition, err)
		}
		key, _ := protocol.ReadAll(r.Key)
		value, _ := protocol.ReadAll(r.Value)
		if r.Offset < from || dec.Decode(p.Topic, key, value, &rec) != nil || rec.Kind != debezium.Change {
			continue
		}
		if rec.HasLSN && rec.LSN > ts.SourceLSN {
			ts.SourceLSN = rec.LSN
		}
		t := r.Time // the record time when the change carries no ts_ms
		if rec.TsMs > 0 {
			t = time.UnixMilli(rec.TsMs)
		}
		if t = t.UTC(); ts.SourceTime == nil || t.After(*ts.SourceTime) {
			ts.SourceTime = &t
		}
	}
}

func slotStatus(ctx context.Context, cfg Config) (*SlotStatus, error) {
	if cfg.Slot == "" || cfg.PostgresDSN == "" {
		return nil, nil
	}
	pg, err := openPostgres(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer pg.Close(context.WithoutCancel(ctx))
	s, err := readSlot(ctx, pg, cfg.Slot)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, fmt.Errorf("postgres: replication slot %q does not exist", cfg.Slot)
	}
	out := &SlotStatus{Name: s.Name, Active: s.Active, CurrentLSN: s.CurrentLSN,
		ConfirmedFlushLSN: deref(s.ConfirmedLSN), RestartLSN: deref(s.RestartLSN)}
	if s.LagBytes != nil {
		out.LagBytes = *s.LagBytes
	}
	if s.RetainedBytes != nil {
		out.RetainedBytes = *s.RetainedBytes
	}
	return out, nil
}

// clickhouseStatus reads each table's newest _version and cdc_timestamp.
func clickhouseStatus(ctx context.Context, cfg Config, tables []TableStatus, at time.Time) error {
	if len(tables) == 0 {
		return nil
	}
	if cfg.ClickHouseURL == "" {
		return errors.New("clickhouse: no URL given")
	}
	conn, _, err := openClickHouse(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	// 18.16 stores cdc_timestamp as UInt64 epoch ms, 21.9+ as DateTime64(3).
	ts := ddl.ColTimestamp
	if conn.Profile().DateTime64 {
		ts = "toUnixTimestamp64Milli(" + chconn.QuoteIdent(ddl.ColTimestamp) + ")"
	} else {
		ts = chconn.QuoteIdent(ts)
	}
	for i := range tables {
		t := &tables[i]
		local := t.Table
		if cfg.DDL.Cluster != "" {
			local += "_local"
		}
		rows, err := conn.Query(ctx, fmt.Sprintf("SELECT count(), max(%s), max(%s) FROM %s",
			chconn.QuoteIdent(ddl.ColVersion), ts, chconn.QuoteIdent(local)))
		if err != nil {
			t.fail(fmt.Errorf("clickhouse table %s: %w", local, err))
			continue
		}
		t.fromClickHouse(rows[0], at)
	}
	return nil
}

func (t *TableStatus) fromClickHouse(row []string, at time.Time) {
	t.Rows, _ = strconv.ParseUint(row[0], 10, 64)
	if t.Rows == 0 {
		return
	}
	t.Version, _ = strconv.ParseUint(row[1], 10, 64)
	ms, _ := strconv.ParseInt(row[2], 10, 64)
	ct := time.UnixMilli(ms).UTC()
	t.Time = &ct
	age := Seconds(at.Sub(ct))
	t.Age = &age
	if t.SourceTime != nil {
		behind := Seconds(max(0, t.SourceTime.Sub(ct)))
		t.Behind = &behind
	}
}

// rates fills the per-second rates from the previous measurement.
func (r *StatusReport) rates(prev *StatusReport) {
	if prev == nil {
		return
	}
	dt := r.At.Sub(prev.At).Seconds()
	if dt <= 0 {
		return
	}
	before := map[string]TableStatus{}
	for _, t := range prev.Tables {
		before[t.Topic] = t
	}
	for i := range r.Tables {
		t := &r.Tables[i]
		p, ok := before[t.Topic]
		if !ok {
			continue
		}
		c, e := float64(t.Committed-p.Committed)/dt, float64(t.End-p.End)/dt
		t.ConsumedPerSecond, t.ProducedPerSecond = &c, &e
	}
}

// evaluate names the thresholds exceeded.
func (r *StatusReport) evaluate(th Thresholds) {
	for _, t := range r.Tables {
		if th.MaxLag > 0 && t.Lag > th.MaxLag {
			r.Breaches = append(r.Breaches, fmt.Sprintf("%s: Kafka lag %d messages > %d", t.Table, t.Lag, th.MaxLag))
		}
		if th.MaxAge > 0 && t.Behind != nil && time.Duration(*t.Behind) > th.MaxAge {
			r.Breaches = append(r.Breaches, fmt.Sprintf("%s: ClickHouse %s behind the source > %s", t.Table,
				time.Duration(*t.Behind).Round(time.Millisecond), th.MaxAge))
		}
	}
	if th.MaxSlotLag > 0 && r.Slot != nil && r.Slot.LagBytes > th.MaxSlotLag {
		r.Breaches = append(r.Breaches, fmt.Sprintf("slot %s: %s not confirmed > %s", r.Slot.Name, Bytes(r.Slot.LagBytes), Bytes(th.MaxSlotLag)))
	}
	sort.Strings(r.Breaches)
}
