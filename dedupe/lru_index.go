package dedupe

// lruIndex maps keys to node indexes for [lruTable]: an open-addressing
// table with linear probing over one []uint64, each slot the low 32 bits
// of the key's first hash (its tag, which also gives the slot it belongs
// in) and the node index. A lookup reads one cache line of slots and
// reads a node only when a tag matches, so a miss (every new key) and the
// removal of an evicted key cost one cold line each, where a Go map's
// control word and slot often cost two. Removal shifts the following
// slots back (no tombstones). It holds no pointer, and stays at most half
// full.
type lruIndex struct {
	slots []uint64
	n     int
}

const minIndexSlots = 64

// tagOf is k's tag: a uniform 32-bit hash, since k[0] is a maphash value.
func tagOf(k lruKey) uint32 { return uint32(k[0]) }

func (x *lruIndex) reset() { x.slots, x.n = make([]uint64, minIndexSlots), 0 }

// find returns the node of k, looking its candidates up in nodes, and the
// slot holding it.
func (x *lruIndex) find(k lruKey, nodes []lruNode) (node int32, slot int, ok bool) {
	tag := tagOf(k)
	mask := len(x.slots) - 1
	for i := int(tag) & mask; ; i = (i + 1) & mask {
		s := x.slots[i]
		if s == 0 {
			return 0, i, false
		}
		if uint32(s>>32) == tag && nodes[int32(s)].key == k {
			return int32(s), i, true
		}
	}
}

// insertAt adds k (absent) at node in slot, the free slot find returned
// for k, unless the table must grow first.
func (x *lruIndex) insertAt(k lruKey, node int32, slot int) {
	if 2*(x.n+1) > len(x.slots) {
		x.insert(k, node)
		return
	}
	x.slots[slot] = uint64(tagOf(k))<<32 | uint64(uint32(node))
	x.n++
}

// insert adds k (absent) at node, growing the table when it would be more
// than half full.
func (x *lruIndex) insert(k lruKey, node int32) {
	if 2*(x.n+1) > len(x.slots) {
		old := x.slots
		x.slots = make([]uint64, 2*len(old))
		for _, s := range old {
			if s != 0 {
				x.place(s)
			}
		}
	}
	x.place(uint64(tagOf(k))<<32 | uint64(uint32(node)))
	x.n++
}

// place puts slot value s in the first free slot from its own.
func (x *lruIndex) place(s uint64) {
	mask := len(x.slots) - 1
	i := int(uint32(s>>32)) & mask
	for x.slots[i] != 0 {
		i = (i + 1) & mask
	}
	x.slots[i] = s
}

// removeAt empties slot i, shifting back the slots after it that would
// otherwise no longer be found.
func (x *lruIndex) removeAt(i int) {
	mask := len(x.slots) - 1
	for j := (i + 1) & mask; x.slots[j] != 0; j = (j + 1) & mask {
		home := int(uint32(x.slots[j]>>32)) & mask
		// The slot at j may move to i unless its home lies cyclically in
		// (i, j].
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			x.slots[i] = x.slots[j]
			i = j
		}
	}
	x.slots[i] = 0
	x.n--
}
