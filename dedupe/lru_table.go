package dedupe

import "math"

// lruTable is the bounded least-recently-used map under [LRU]: a Go map
// from key to node index, and the nodes, linked by index into one list
// from the most to the least recently used, in a slice. Neither the map
// nor the nodes hold a pointer, so the garbage collector never scans them,
// and reusing the evicted node makes an insert into a full table
// allocation-free. Only arrival records, in a slice of their own, are
// scanned. (It replaces golang-lru's simplelru, whose list elements are
// pointer-linked heap objects, one allocated per insert: docs/BENCHMARKS.md
// has the measurements.) It is not safe for concurrent use; LRU holds its
// mutex around every call.
type lruTable struct {
	index   map[lruKey]int32
	nodes   []lruNode       // nodes[0] is the list's sentinel: next is the most recent
	recs    []*bucketRecord // recs[i] is node i's arrival record, or nil
	size    int             // the most entries held
	onEvict func(lruKey, lruEntry)
}

// lruNode is one entry of the table, or the list's sentinel.
type lruNode struct {
	key        lruKey
	expires    int64
	prev, next int32
	state      State
}

// maxTableSize is the most entries a table holds: node indexes are int32.
const maxTableSize = math.MaxInt32 - 1

// newLRUTable returns an empty table of at most size (> 0) entries.
// onEvict is called with each entry evicted for room.
func newLRUTable(size int, onEvict func(lruKey, lruEntry)) *lruTable {
	size = min(size, maxTableSize)
	t := &lruTable{size: size, onEvict: onEvict}
	t.Purge()
	return t
}

// Len reports the number of entries held.
func (t *lruTable) Len() int { return len(t.index) }

// Purge drops every entry.
func (t *lruTable) Purge() {
	t.index = make(map[lruKey]int32)
	t.nodes = make([]lruNode, 1, min(t.size+1, 1024))
	t.recs = make([]*bucketRecord, 1, cap(t.nodes))
}

// entry returns node i's entry.
func (t *lruTable) entry(i int32) lruEntry {
	n := &t.nodes[i]
	return lruEntry{expires: n.expires, state: n.state, arr: t.recs[i]}
}

// Get returns k's entry and makes it the most recently used.
func (t *lruTable) Get(k lruKey) (lruEntry, bool) {
	i, ok := t.index[k]
	if !ok {
		return lruEntry{}, false
	}
	t.toFront(i)
	return t.entry(i), true
}

// Peek returns k's entry without changing its recency.
func (t *lruTable) Peek(k lruKey) (lruEntry, bool) {
	i, ok := t.index[k]
	if !ok {
		return lruEntry{}, false
	}
	return t.entry(i), true
}

// Add sets k's entry to e and makes it the most recently used; when k is
// new and the table full, it first evicts the least recently used entry.
func (t *lruTable) Add(k lruKey, e lruEntry) {
	i, ok := t.index[k]
	switch {
	case ok:
		t.toFront(i)
	case len(t.index) < t.size && len(t.nodes) <= t.size:
		i = int32(len(t.nodes))
		if len(t.nodes) == cap(t.nodes) {
			// Grow by doubling, but never past the most nodes a full table
			// needs.
			n := min(2*cap(t.nodes), t.size+1)
			t.nodes = append(make([]lruNode, 0, n), t.nodes...)
			t.recs = append(make([]*bucketRecord, 0, n), t.recs...)
		}
		t.nodes = append(t.nodes, lruNode{})
		t.recs = append(t.recs, nil)
		t.link(i)
	case len(t.index) < t.size:
		// Every node is in use, some of them removed: removed nodes are
		// kept at the back of the list (see Remove), so the last one is free.
		i = t.nodes[0].prev
		t.toFront(i)
	default:
		i = t.nodes[0].prev
		old := t.entry(i)
		delete(t.index, t.nodes[i].key)
		t.toFront(i)
		t.onEvict(t.nodes[i].key, old)
	}
	if !ok {
		t.index[k] = i
	}
	n := &t.nodes[i]
	n.key, n.expires, n.state = k, e.expires, e.state
	t.recs[i] = e.arr
}

// Remove drops k's entry, if any.
func (t *lruTable) Remove(k lruKey) {
	i, ok := t.index[k]
	if !ok {
		return
	}
	delete(t.index, k)
	t.recs[i] = nil
	// The node stays in the list, at the back, unindexed: the removed
	// nodes are always the list's last ones, so an insert that finds every
	// node in use takes the last node, and only evicts when none is free.
	t.unlink(i)
	back := t.nodes[0].prev
	t.nodes[i].prev, t.nodes[i].next = back, 0
	t.nodes[back].next, t.nodes[0].prev = i, i
}

// link puts node i (unlinked) at the front.
func (t *lruTable) link(i int32) {
	front := t.nodes[0].next
	t.nodes[i].prev, t.nodes[i].next = 0, front
	t.nodes[front].prev, t.nodes[0].next = i, i
}

// unlink takes node i out of the list.
func (t *lruTable) unlink(i int32) {
	n := &t.nodes[i]
	t.nodes[n.prev].next, t.nodes[n.next].prev = n.next, n.prev
}

// toFront makes node i the most recently used.
func (t *lruTable) toFront(i int32) {
	if t.nodes[0].next == i {
		return
	}
	t.unlink(i)
	t.link(i)
}
