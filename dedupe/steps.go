package dedupe

import (
	"context"
	"strconv"
)

// DoInSteps runs ops as [BatchStore.Do] must, for a store whose own batch
// call, do, runs plain ops: do ignores [Op.Gate] and [Op.SlotPrefix] and
// runs every op it is given, in one round trip. DoInSteps calls do for the
// ops up to and including the first Gate claim; when that claim returned
// Claimed, for the ops after it (up to the next Gate, and so on); and
// after each such call, once more for the slot claims of its arrivals
// that have a SlotPrefix. A batch with one Gate and slot claims therefore
// takes three calls, where a store that runs the batch whole (a Redis
// script) takes one.
//
// It returns the first error a do call returned; the ops that call did
// not reach get that error too.
func DoInSteps(ctx context.Context, ops []Op, do func(context.Context, []Op) error) error {
	rest := ops
	for len(rest) > 0 {
		step := rest
		gate := -1
		for i := range rest {
			if rest[i].Kind == OpClaim && rest[i].Gate {
				gate, step = i, rest[:i+1]
				break
			}
		}
		if err := doStep(ctx, step, do); err != nil {
			for i := len(step); i < len(rest); i++ {
				rest[i].Err = err
			}
			return err
		}
		if gate < 0 {
			return nil
		}
		g := &rest[gate]
		rest = rest[gate+1:]
		if g.Err != nil || g.State != Claimed {
			for i := range rest {
				rest[i].Err = ErrNotRun
			}
			return nil
		}
	}
	return nil
}

// doStep runs step with do, then the slot claims of its arrivals.
func doStep(ctx context.Context, step []Op, do func(context.Context, []Op) error) error {
	if err := do(ctx, step); err != nil {
		return err
	}
	var claims []Op
	var from []int
	for i := range step {
		o := &step[i]
		if o.Kind != OpArrive || o.SlotPrefix == "" {
			continue
		}
		o.State = 0
		if o.Err != nil || o.Pairing.Epoch == "" {
			continue
		}
		claims = append(claims, Op{Kind: OpClaim, Key: slotKey(o.SlotPrefix, o.Pairing), TTL: o.TTL})
		from = append(from, i)
	}
	if len(claims) == 0 {
		return nil
	}
	err := do(ctx, claims)
	for j, i := range from {
		step[i].State, step[i].Err = claims[j].State, claims[j].Err
	}
	return err
}

// slotKey is the claim key an [Op] with SlotPrefix prefix claims for the
// slot p: prefix + p.Epoch + "#" + p.Slot in decimal.
func slotKey(prefix string, p Pairing) string {
	b := make([]byte, 0, len(prefix)+len(p.Epoch)+21)
	b = append(append(append(b, prefix...), p.Epoch...), '#')
	return string(strconv.AppendInt(b, p.Slot, 10))
}
