package replicate

import "hash/maphash"

// recentRows remembers, for the keys of a table this run has written, the
// columns a later delete of the key needs (the table's markerCols: the
// partition and sorting keys), copied from the written block. A delete of
// a row written earlier in the same run then needs no ClickHouse lookup:
// in a catch-up drain most deletes are of rows the drain itself wrote, and
// each lookup opens every part of the table (without the lookups, the
// benchmark's ClickHouse used half the CPU; see doc.go, Performance).
//
// Why it holds ClickHouse's state of a key: a key's rows are written in
// message order by this member alone while it owns the key's partition,
// and every written window records its keys' last rows here, after the
// write succeeded. The cache is dropped whenever that may not hold: a
// truncate, a failed or uncommitted window, a rejoin (another member may
// have written the key meanwhile), a new drain, a change of the table's
// builders. A key not here is looked up as before.
//
// Memory is bounded: rows go into the current generation; when it holds
// recentGenRows rows it becomes the old one and the older is dropped.
type recentRows struct {
	seed     maphash.Seed
	cur, old *recentGen
}

// recentGenRows and recentGenKeyBytes bound one generation: ~60 bytes a
// row with an integer key and one timestamp, ~2 MB per generation. The
// benchmark's deletes found 94-100% of their rows at 32,768 rows a
// generation; every MB kept live costs GC cycles (cmd_replicate.go,
// replicateMemoryLimit): 131,072 rows made the run slower.
const (
	recentGenRows     = 1 << 15
	recentGenKeyBytes = 4 << 20
)

// recentGen holds no pointers but its block's builders, so that the
// garbage collector does not scan a row per key: the map is keyed by the
// key's hash, and a hit is checked against the key kept in keys.
type recentGen struct {
	idx  map[uint64]uint32 // key hash → row<<1 | deleted
	keys []byte            // the rows' keys, end to end
	ends []uint32          // ends[row]: the end of row's key in keys
	blk  *block            // only its markerCols builders hold values
}

func newRecentGen(t *table) *recentGen {
	return &recentGen{idx: map[uint64]uint32{}, blk: newBlock(t)}
}

func (g *recentGen) rows() int { return len(g.ends) }

func (g *recentGen) key(row int) []byte {
	start := uint32(0)
	if row > 0 {
		start = g.ends[row-1]
	}
	return g.keys[start:g.ends[row]]
}

// find returns the row of key and whether its state is a delete.
func (g *recentGen) find(h uint64, key string) (row int, deleted, ok bool) {
	v, ok := g.idx[h]
	if !ok || string(g.key(int(v>>1))) != key {
		return 0, false, false
	}
	return int(v >> 1), v&1 == 1, true
}

// usable tells whether g's builders still match the table's (a column
// added or a builder type refined makes them uncopyable).
func (g *recentGen) usable(t *table) bool {
	return g != nil && copyable(t, g.blk)
}

// wantRecent starts remembering t's written rows, once the run has seen a
// delete of t that needs the row's stored state: tables without deletes
// keep nothing.
func (t *table) wantRecent(e *event) {
	if t.recent == nil && e.isDelete() && !t.markerAll && e.needsFill() {
		t.recent = &recentRows{seed: maphash.MakeSeed()}
	}
}

// forgetRecent drops what t remembers (it may no longer be ClickHouse's
// state); remembering starts again with the next delete.
func (t *table) forgetRecent() { t.recent = nil }

// rememberWritten records the keys of blk, just written, with their last
// rows (t.written). The caller then resets blk.
func (t *table) rememberWritten(blk *block) {
	rr := t.recent
	if rr == nil {
		return
	}
	if blk.truncate || t.writing != blk || !copyable(t, blk) {
		t.forgetRecent()
		return
	}
	if !rr.cur.usable(t) {
		rr.cur, rr.old = newRecentGen(t), nil
	}
	for key, ref := range t.written {
		if rr.cur.rows() >= recentGenRows || len(rr.cur.keys) >= recentGenKeyBytes {
			rr.old, rr.cur = rr.cur, newRecentGen(t)
		}
		if !rr.add(t, key, blk, ref) {
			t.forgetRecent()
			return
		}
	}
}

// add appends key's row to the current generation. It fails on a hash
// collision with another key of the generation (never seen in practice):
// the other key's newer state would be lost while the old generation
// still holds an older one.
func (rr *recentRows) add(t *table, key string, blk *block, ref rowRef) bool {
	g, h := rr.cur, maphash.String(rr.seed, key)
	if v, ok := g.idx[h]; ok && string(g.key(int(v>>1))) != key {
		return false
	}
	for _, i := range t.markerCols {
		if err := g.blk.cols[i].AppendCopyFrom(blk.cols[i], int(ref.row)); err != nil {
			return false // cannot happen: the same builders
		}
	}
	row := uint32(g.rows()) << 1
	if ref.deleted {
		row |= 1
	}
	g.idx[h] = row
	g.keys = append(g.keys, key...)
	g.ends = append(g.ends, uint32(len(g.keys)))
	return true
}

// recentRow returns the remembered state of e's key for a delete's fill
// (only its markerCols are set), or nil.
func (t *table) recentRow(e *event) *storedRow {
	g, row, deleted, ok := t.recentFind(e)
	if !ok {
		return nil
	}
	src := srcRecentOld
	if g == t.recent.cur {
		src = srcRecentCur
	}
	vals := make([]val, len(t.cols))
	for _, i := range t.markerCols {
		vals[i] = val{state: valRow, src: src, row: int32(row)}
	}
	return &storedRow{vals: vals, deleted: deleted}
}

// remembers tells whether recentRow has e's key.
func (t *table) remembers(e *event) bool {
	_, _, _, ok := t.recentFind(e)
	return ok
}

func (t *table) recentFind(e *event) (g *recentGen, row int, deleted, ok bool) {
	rr := t.recent
	if rr == nil || !e.isDelete() || t.markerAll {
		return nil, 0, false, false
	}
	h := maphash.String(rr.seed, e.key)
	for _, g := range [2]*recentGen{rr.cur, rr.old} {
		if !g.usable(t) {
			continue
		}
		if row, deleted, ok := g.find(h, e.key); ok {
			return g, row, deleted, true
		}
	}
	return nil, 0, false, false
}
