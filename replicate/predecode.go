package replicate

import (
	"github.com/sluice-cdc/sluice/internal/debezium"
	"github.com/sluice-cdc/sluice/internal/kafkasrc"
)

// predecoded is a batch's messages run through the Debezium decoder by
// the reader goroutine, while the main goroutine routes, fills and builds
// the batch before it: the JSON scan is about half of the decode stage,
// and the main goroutine is what bounds a run once ClickHouse keeps up.
// recs[i] and errs[i] belong to the batch's message i. A record's raw
// values point into its message, like the message they were decoded from.
type predecoded struct {
	recs []debezium.Record
	errs []error
	hdrs []debezium.Header
}

// predecode decodes every message of b with dec (the reader goroutine's
// own decoder: its schema caches are not shared).
func (p *predecoded) predecode(dec *debezium.Decoder, b *kafkasrc.Batch) {
	n := len(b.Messages)
	if cap(p.recs) < n {
		p.recs = append(p.recs[:cap(p.recs)], make([]debezium.Record, n-cap(p.recs))...)
	}
	p.recs = p.recs[:n]
	p.errs = append(p.errs[:0], make([]error, n)...)
	for i := range b.Messages {
		m := &b.Messages[i]
		in := debezium.Input{Topic: m.Topic, Partition: int32(m.Partition), Offset: m.Offset, Key: m.Key, Value: m.Value}
		if len(m.Headers) > 0 {
			p.hdrs = p.hdrs[:0]
			for _, h := range m.Headers {
				p.hdrs = append(p.hdrs, debezium.Header{Key: h.Key, Value: h.Value})
			}
			in.Headers = p.hdrs
		}
		p.errs[i] = dec.DecodeInput(&in, &p.recs[i])
	}
}

// predecodedPool recycles predecoded batches (their records keep their
// slices): the reader takes one per batch, the main goroutine gives it
// back once the batch is decoded into events.
type predecodedPool chan *predecoded

func (p predecodedPool) get() *predecoded {
	select {
	case d := <-p:
		return d
	default:
		return &predecoded{}
	}
}

func (p predecodedPool) put(d *predecoded) {
	if d == nil {
		return
	}
	select {
	case p <- d:
	default:
	}
}
