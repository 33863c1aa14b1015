package kafkasrc

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
)

// Message is one Kafka record, copied out of the fetch buffers.
type Message struct {
	Topic     string
	Partition int
	Offset    int64
	Key       []byte
	Value     []byte // nil for a tombstone
	Headers   []kafka.Header
	Time      time.Time

	slab *slab // holds Key and Value, nil when they have their own memory
}

// size approximates the memory a message holds, for MaxBatchBytes.
func (m *Message) size() int {
	n := len(m.Key) + len(m.Value)
	for _, h := range m.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return n
}

// fetched is what one Fetch response contributes below the target.
type fetched struct {
	messages []Message
	// next is the offset after the last record seen in [from, target),
	// control records included, or target when a record at or beyond it was
	// seen; -1 when the response held nothing at or after from.
	next int64
}

// decodeFetch copies the records in [from, target) out of a fetch response.
//
// Records below from are dropped: a compressed batch is returned whole and
// may start before the requested offset. Control batches (transaction
// markers) carry no data but do occupy offsets; they advance next so that a
// partition ending in a marker still reaches its target.
func decodeFetch(c *copier, topic string, partition int, rr kafka.RecordReader, from, target int64) (fetched, error) {
	out := fetched{next: -1}
	if c != nil {
		out.messages = c.pool.messages()
	}
	seen := func(offset int64) bool {
		switch {
		case offset < from:
			return false
		case offset >= target:
			// Offsets ascend within a response, so everything that still
			// exists below the target was seen (compaction leaves gaps).
			out.next = max(out.next, target)
			return false
		}
		out.next = max(out.next, offset+1)
		return true
	}
	stream, ok := rr.(*protocol.RecordStream)
	if !ok {
		return out, readData(c, topic, partition, rr, seen, &out)
	}
	for _, batch := range stream.Records {
		var err error
		if cb, isControl := batch.(*protocol.ControlBatch); isControl {
			err = skipControl(cb, seen)
		} else {
			err = readData(c, topic, partition, batch, seen, &out)
		}
		if err != nil {
			return out, fmt.Errorf("kafka decode %s/%d: %w", topic, partition, err)
		}
	}
	return out, nil
}

// readData copies the data records that seen accepts.
func readData(c *copier, topic string, partition int, rr kafka.RecordReader, seen func(int64) bool, out *fetched) error {
	for {
		r, err := rr.ReadRecord()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if !seen(r.Offset) {
			discard(r)
			continue
		}
		m, err := copyRecord(c, topic, partition, r)
		if err != nil {
			return fmt.Errorf("offset %d: %w", r.Offset, err)
		}
		out.messages = append(out.messages, m)
	}
}

// skipControl marks a control batch's offsets as seen without keeping them.
func skipControl(cb *protocol.ControlBatch, seen func(int64) bool) error {
	for {
		r, err := cb.ReadRecord()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		seen(r.Offset)
		discard(r)
	}
}

func discard(r *kafka.Record) {
	if r.Key != nil {
		r.Key.Close()
	}
	if r.Value != nil {
		r.Value.Close()
	}
}

// copyRecord reads key, value and headers (they are only valid until the
// next ReadRecord) into memory from c; a nil key or value stays nil.
func copyRecord(c *copier, topic string, partition int, r *kafka.Record) (Message, error) {
	defer discard(r)
	nk, nv := bytesLen(r.Key), bytesLen(r.Value)
	buf, sl := c.alloc(nk + nv)
	key, err := readInto(r.Key, buf[:nk:nk])
	if err != nil {
		return Message{}, fmt.Errorf("read key: %w", err)
	}
	value, err := readInto(r.Value, buf[nk:])
	if err != nil {
		return Message{}, fmt.Errorf("read value: %w", err)
	}
	var headers []kafka.Header
	if len(r.Headers) > 0 {
		headers = make([]kafka.Header, len(r.Headers))
		for i, h := range r.Headers {
			headers[i] = kafka.Header{Key: h.Key, Value: append([]byte(nil), h.Value...)}
		}
	}
	return Message{
		Topic: topic, Partition: partition, Offset: r.Offset,
		Key: key, Value: value, Headers: headers, Time: r.Time, slab: sl,
	}, nil
}

func bytesLen(b protocol.Bytes) int {
	if b == nil {
		return 0
	}
	return b.Len()
}

// readInto reads b whole into buf (len(buf) == b.Len()); nil stays nil.
func readInto(b protocol.Bytes, buf []byte) ([]byte, error) {
	if b == nil {
		return nil, nil
	}
	_, err := io.ReadFull(b, buf)
	return buf, err
}
