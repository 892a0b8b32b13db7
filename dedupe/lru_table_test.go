package dedupe

import (
	"slices"
	"testing"
)

// modelLRU is a trivially correct weighted LRU: keys from the most to the
// least recently used, in a slice.
type modelLRU struct {
	size    int
	used    int
	order   []lruKey
	entries map[lruKey]lruEntry
	evicted []lruKey
}

func (m *modelLRU) toFront(k lruKey) {
	m.order = slices.DeleteFunc(m.order, func(x lruKey) bool { return x == k })
	m.order = slices.Insert(m.order, 0, k)
}

func (m *modelLRU) get(k lruKey, touch bool) (lruEntry, bool) {
	e, ok := m.entries[k]
	if ok && touch {
		m.toFront(k)
	}
	return e, ok
}

func (m *modelLRU) add(k lruKey, e lruEntry) {
	e.weight = max(e.weight, 1)
	m.used += int(e.weight) - int(m.entries[k].weight)
	m.entries[k] = e
	m.toFront(k)
	for m.used > m.size && m.order[len(m.order)-1] != k {
		last := m.order[len(m.order)-1]
		m.order = m.order[:len(m.order)-1]
		m.used -= int(m.entries[last].weight)
		delete(m.entries, last)
		m.evicted = append(m.evicted, last)
	}
}

func (m *modelLRU) remove(k lruKey) {
	if e, ok := m.entries[k]; ok {
		m.used -= int(e.weight)
		delete(m.entries, k)
		m.order = slices.DeleteFunc(m.order, func(x lruKey) bool { return x == k })
	}
}

// FuzzLRUTable runs a byte string as operations on a small table and on
// the model, and compares every result, every eviction and, at the end,
// the order of the entries. Arrival entries weigh 1 to 3.
func FuzzLRUTable(f *testing.F) {
	f.Add(uint8(3), []byte{0, 1, 0, 2, 0, 3, 0, 4, 1, 1, 3, 2, 0, 5, 2, 3, 0, 6, 0, 7})
	f.Add(uint8(1), []byte{0, 1, 3, 1, 0, 2, 0, 1, 1, 2})
	f.Add(uint8(4), []byte{0, 1, 0, 2, 0, 3, 0, 4, 3, 2, 3, 3, 0, 5, 0, 6, 0, 7, 0, 2, 1, 1})
	f.Fuzz(func(t *testing.T, size uint8, ops []byte) {
		n := int(size%8) + 1
		m := &modelLRU{size: n, entries: map[lruKey]lruEntry{}}
		var evicted []lruKey
		tab := newLRUTable(n, func(k lruKey, _ lruEntry) { evicted = append(evicted, k) })
		rec := &bucketRecord{}
		for i := 0; i+1 < len(ops); i += 2 {
			k := lruKey{uint64(ops[i+1] % 12), 7}
			switch ops[i] % 4 {
			case 0:
				e := lruEntry{expires: int64(i), state: State(ops[i+1]%3 + 1)}
				if ops[i+1]%2 == 0 {
					e.arr, e.weight = rec, int32(ops[i]/4%4) // 0 weighs 1
				}
				tab.Add(k, e)
				m.add(k, e)
			case 1, 2:
				touch := ops[i]%4 == 1
				var got lruEntry
				var ok bool
				if touch {
					got, ok = tab.Get(k)
				} else {
					got, ok = tab.Peek(k)
				}
				want, wok := m.get(k, touch)
				if ok != wok || got != want {
					t.Fatalf("op %d: get(%v) = %v, %v; want %v, %v", i/2, k, got, ok, want, wok)
				}
			case 3:
				tab.Remove(k)
				m.remove(k)
			}
			if tab.Len() != m.used || tab.keys() != len(m.order) {
				t.Fatalf("op %d: Len = %d, %d keys; want %d, %d", i/2, tab.Len(), tab.keys(), m.used, len(m.order))
			}
			if !slices.Equal(evicted, m.evicted) {
				t.Fatalf("op %d: evicted %v; want %v", i/2, evicted, m.evicted)
			}
		}
		// The list, front to back, is the model's order.
		var order []lruKey
		for i := tab.nodes[0].next; i != 0 && len(order) <= len(m.order); i = tab.nodes[i].next {
			order = append(order, tab.nodes[i].key)
		}
		if !slices.Equal(order, m.order) {
			t.Fatalf("order %v; want %v", order, m.order)
		}
		// Nodes: one per unit of weight, one being inserted, the sentinel.
		if len(tab.nodes) > n+2 {
			t.Fatalf("%d nodes for a table of %d", len(tab.nodes), n)
		}
	})
}

// FuzzLRUIndex runs a byte string as inserts and removals on the index and
// on a map, with tags crowded around the end of the table so that probe
// sequences wrap and removals shift slots across the wrap, and checks every
// key after every step.
func FuzzLRUIndex(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 0x80, 0x82, 8, 9, 0x81, 10})
	f.Add([]byte{7, 15, 23, 31, 0x87, 39, 0x8f, 47, 0x97, 0x9f})
	f.Fuzz(func(t *testing.T, ops []byte) {
		var x lruIndex
		x.reset()
		nodes := []lruNode{{}} // node 0: the sentinel, never indexed
		model := map[lruKey]int32{}
		for step, b := range ops {
			// 32 keys in 8 tags, homes 60..67 of the first 64 slots.
			k := lruKey{uint64(60 + b%8), uint64(b % 32)}
			if b&0x80 == 0 {
				if _, ok := model[k]; ok {
					continue
				}
				nodes = append(nodes, lruNode{key: k})
				i := int32(len(nodes) - 1)
				x.insert(k, i)
				model[k] = i
			} else if _, slot, ok := x.find(k, nodes); ok {
				x.removeAt(slot)
				delete(model, k)
			}
			if x.n != len(model) {
				t.Fatalf("step %d: %d keys, want %d", step, x.n, len(model))
			}
			for b := range 32 {
				k := lruKey{uint64(60 + b%8), uint64(b)}
				i, _, ok := x.find(k, nodes)
				if want, wok := model[k]; ok != wok || i != want {
					t.Fatalf("step %d: find(%v) = %d, %v; want %d, %v", step, k, i, ok, want, wok)
				}
			}
		}
	})
}
