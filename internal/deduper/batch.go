package deduper

import (
	"context"
	"sync"

	"github.com/codathook/codathook/dedupe"
)

// batchArr is the size of the stack arrays Begin, Skip and settle build
// their store calls in; a larger batch (a read.completed with many
// elements) borrows a buffer from opsPool instead.
const batchArr = 6

// opsBuf is a pooled buffer for batches larger than batchArr.
type opsBuf struct{ ops []dedupe.Op }

var opsPool = sync.Pool{New: func() any { return new(opsBuf) }}

// maxPooledOps bounds the buffers opsPool keeps.
const maxPooledOps = 256

// opsRoom returns an empty slice with room for n ops: arr's when n fits,
// else the buffer *buf, borrowed from opsPool on first use; the caller
// returns it with releaseOps.
func opsRoom(arr *[batchArr]dedupe.Op, n int, buf **opsBuf) []dedupe.Op {
	if n <= batchArr {
		return arr[:0]
	}
	if *buf == nil {
		*buf = opsPool.Get().(*opsBuf)
	}
	b := *buf
	if cap(b.ops) < n {
		b.ops = make([]dedupe.Op, 0, n)
	}
	return b.ops[:0]
}

// releaseOps returns b (if any) to opsPool, without the keys it held.
func releaseOps(b *opsBuf) {
	if b == nil {
		return
	}
	if cap(b.ops) > maxPooledOps {
		b.ops = nil
	} else {
		clear(b.ops[:cap(b.ops)])
	}
	opsPool.Put(b)
}

// do runs ops: on the LRU in one Do, called directly so that ops stays on
// the caller's stack; on another BatchStore in one Do when there is more
// than one op; else one Store call per op.
func (d *Deduper) do(ctx context.Context, ops []dedupe.Op) {
	if d.lru != nil {
		_ = d.lru.Do(ctx, ops) // sets every op's Err
		return
	}
	if d.batch != nil && len(ops) > 1 {
		// A copy, so that ops (usually on the caller's stack) does not
		// escape through the interface call.
		batch := append([]dedupe.Op(nil), ops...)
		err := d.batch.Do(ctx, batch)
		copy(ops, batch)
		if err != nil {
			for i := range ops {
				ops[i].Err = err
			}
		}
		return
	}
	for i := range ops {
		o := &ops[i]
		switch o.Kind {
		case dedupe.OpClaim:
			o.State, o.Err = d.store.Claim(ctx, o.Key, o.TTL)
		case dedupe.OpCommit:
			o.Err = d.store.Commit(ctx, o.Key, o.TTL)
		case dedupe.OpRelease:
			o.Err = d.store.Release(ctx, o.Key)
		case dedupe.OpArrive:
			o.Pairing, o.Err = d.store.Arrive(ctx, o.Key, o.Arrival)
		}
	}
}
