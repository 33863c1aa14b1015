package health

import (
	"context"
	"time"
)

// Check runs every configured check once. Connect goes first: its
// connector's configuration names the slot, publication and topics the
// other checks need. A component that cannot be reached fails its
// "reachable" item and the checks that need it are not run; Check itself
// returns no error, every problem is an item.
func Check(ctx context.Context, cfg Config) *Report {
	cfg = cfg.withDefaults()
	r := &Report{CheckedAt: time.Now().UTC()}
	connectItems := checkConnect(ctx, &cfg)
	r.Endpoints = cfg.Endpoints()

	topics, kafkaItems := checkKafka(ctx, cfg)
	refs := cfg.tableRefs(topics)
	pg, pgItems := checkPostgres(ctx, cfg, refs)
	if pg != nil {
		defer pg.Close(context.WithoutCancel(ctx))
	}
	r.add(pgItems...)
	r.add(kafkaItems...)
	r.add(connectItems...)
	r.add(checkClickHouse(ctx, cfg, pg, refs)...)
	r.finish()
	cfg.Logger.Debug("check done", "status", r.Status, "items", len(r.Items))
	return r
}
