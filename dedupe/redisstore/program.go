package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/codathook/codathook/dedupe"
	"github.com/redis/go-redis/v9"
)

// claimKey is the Redis key of the claim key key.
func (s *Store) claimKey(key string) string { return s.claimStem + key }

// intervalStem is the start of the Redis keys of key's arrival intervals:
// the interval's number follows. A grouped key (see grouped) is its own
// hash tag; any other key is wrapped in one, "{#" + key + "}", so that the
// three intervals an arrival reads share a slot whatever key holds.
func (s *Store) intervalStem(key string) string {
	if grouped(key) {
		return s.cfg.Prefix + "a:" + key + ":"
	}
	return s.cfg.Prefix + "a:{#" + key + "}:"
}

// grouped reports whether key starts with a group (dedupe.Store: "{", at
// least one byte other than braces, "}") that does not start with '#'.
// The exception keeps the two layouts of intervalStem apart: the
// intervals of "{#x}" and of the ungrouped "x" would otherwise share a
// name. A group starting with '#' is still a group, only not the hash
// tag of its arrival keys.
func grouped(key string) bool {
	if len(key) < 3 || key[0] != '{' || key[1] == '#' {
		return false
	}
	end := strings.IndexAny(key[1:], "{}")
	return end > 0 && key[1+end] == '}'
}

// hashTag returns what Redis Cluster hashes of a key that starts with key
// and continues with no brace: the text between its first '{' and the
// first '}' after that, when there is such a text. ok is false when Redis
// would hash the key whole.
func hashTag(key string) (tag string, ok bool) {
	i := strings.IndexByte(key, '{')
	if i < 0 {
		return "", false
	}
	j := strings.IndexByte(key[i+1:], '}')
	if j <= 0 {
		return "", false
	}
	return key[i+1 : i+1+j], true
}

// oneTag reports whether every Redis key the program of ops touches has
// the same hash tag: its KEYS, and the slot keys the script makes, whose
// tag is that of their stem (an epoch and a slot number have no braces).
// Such keys are in one slot of a cluster and on one shard of a ring.
func (s *Store) oneTag(ops []dedupe.Op, keys []string) bool {
	tag, ok := hashTag(keys[0])
	if !ok {
		return false
	}
	for _, k := range keys[1:] {
		if t, ok := hashTag(k); !ok || t != tag {
			return false
		}
	}
	for i := range ops {
		if ops[i].Kind == dedupe.OpArrive && ops[i].SlotPrefix != "" {
			if t, ok := hashTag(s.claimKey(ops[i].SlotPrefix)); !ok || t != tag {
				return false
			}
		}
	}
	return true
}

// program returns the KEYS and ARGV of programScript for ops (see its
// documentation). With whole, the program honours Gate and SlotPrefix;
// without, it runs each op plainly (an op of a pipeline, for
// dedupe.DoInSteps).
func (s *Store) program(ops []dedupe.Op, whole bool) (keys []string, args []any) {
	arrivals := 0
	for i := range ops {
		if ops[i].Kind == dedupe.OpArrive {
			arrivals++
		}
	}
	// An arrival has 3 keys and 10 arguments, any other op 1 and at most 2.
	keys = make([]string, 0, len(ops)+2*arrivals)
	args = make([]any, 1, 1+2*len(ops)+8*arrivals)
	args[0] = s.claimStem
	for i := range ops {
		o := &ops[i]
		switch o.Kind {
		case dedupe.OpClaim:
			code := "c"
			if whole && o.Gate {
				code = "g"
			}
			keys, args = append(keys, s.claimKey(o.Key)), append(args, code, ms(o.TTL))
		case dedupe.OpCommit:
			keys, args = append(keys, s.claimKey(o.Key)), append(args, "m", ms(o.TTL))
		case dedupe.OpRelease:
			keys, args = append(keys, s.claimKey(o.Key)), append(args, "r")
		case dedupe.OpArrive:
			a := &o.Arrival
			at := a.At.UnixMilli()
			w := max(1, int64((a.Window+time.Millisecond-1)/time.Millisecond))
			b := at / w
			if at%w != 0 && at < 0 {
				b--
			}
			stem := s.intervalStem(o.Key)
			// The record of the arrival's interval is kept TTL, and as
			// much longer as the interval reaches past At: intervals
			// expire whole.
			ttl := a.TTL + time.Duration((b+1)*w-at)*time.Millisecond
			slotPrefix := ""
			if whole {
				slotPrefix = o.SlotPrefix
			}
			keys = append(keys, stem+strconv.FormatInt(b-1, 10), stem+strconv.FormatInt(b, 10), stem+strconv.FormatInt(b+1, 10))
			args = append(args, "a", a.Side, a.Member, at, w, max(a.Limit, 0), ms(ttl), newEpoch(), slotPrefix, ms(o.TTL))
		}
	}
	return keys, args
}

// decode fills ops from reply, programScript's reply to program(ops,
// whole): each op's State or Pairing, and ErrNotRun for the ops after a
// gate that was not Claimed.
func decode(ops []dedupe.Op, whole bool, reply []any) error {
	j := 0
	next := func() (any, error) {
		if j == len(reply) {
			return nil, fmt.Errorf("program reply %v: too short", reply)
		}
		j++
		return reply[j-1], nil
	}
	state := func(zero bool) (dedupe.State, error) {
		v, err := next()
		if err != nil {
			return 0, err
		}
		n, ok := v.(int64)
		if !ok || n < 0 || n > int64(dedupe.Done) || n == 0 && !zero {
			return 0, fmt.Errorf("program reply %v: %v is not a state", reply, v)
		}
		return dedupe.State(n), nil
	}
	for i := range ops {
		o := &ops[i]
		var err error
		switch o.Kind {
		case dedupe.OpClaim:
			if o.State, err = state(false); err != nil {
				return err
			}
			if whole && o.Gate && o.State != dedupe.Claimed {
				for k := i + 1; k < len(ops); k++ {
					ops[k].Err = dedupe.ErrNotRun
				}
				return leftOver(reply, j)
			}
		case dedupe.OpArrive:
			var v [3]any
			for k := range v {
				if v[k], err = next(); err != nil {
					return err
				}
			}
			slot, ok1 := v[0].(int64)
			epoch, ok2 := v[1].(string)
			paired, ok3 := v[2].(int64)
			if !ok1 || !ok2 || !ok3 {
				return fmt.Errorf("program reply %v: %v is not an arrival's", reply, v)
			}
			o.Pairing = dedupe.Pairing{Epoch: epoch, Slot: slot, Paired: paired == 1}
			if whole && o.SlotPrefix != "" {
				if o.State, err = state(true); err != nil {
					return err
				}
			}
		}
	}
	return leftOver(reply, j)
}

// leftOver is decode's error when reply has more than its first n values.
func leftOver(reply []any, n int) error {
	if n != len(reply) {
		return fmt.Errorf("program reply %v: %d values left over", reply, len(reply)-n)
	}
	return nil
}

// doWhole runs ops as one program: one round trip, two the first time the
// server meets the script (NOSCRIPT, then EVAL, which loads it).
func (s *Store) doWhole(ctx context.Context, ops []dedupe.Op, keys []string, args []any) error {
	cmd := programScript.EvalSha(ctx, s.client, keys, args...)
	if noScript(cmd.Err()) {
		cmd = programScript.Eval(ctx, s.client, keys, args...)
	}
	reply, err := cmd.Slice()
	if err == nil {
		err = decode(ops, true, reply)
	}
	if err != nil {
		// Nothing is known of any op: the round trip failed, or the
		// script did (a program refused for memory wrote nothing; see
		// programScript), or its reply made no sense.
		return s.failAll(ctx, ops, err)
	}
	return nil
}

// failAll gives every op err (see fail) and returns the first op's
// resulting error: nil when failing open.
func (s *Store) failAll(ctx context.Context, ops []dedupe.Op, err error) error {
	var first error
	for i := range ops {
		ops[i].Err, ops[i].State, ops[i].Pairing = nil, 0, dedupe.Pairing{}
		s.fail(ctx, &ops[i], err)
		if first == nil {
			first = ops[i].Err
		}
	}
	return first
}

// noScript reports whether err is the server's NOSCRIPT: it does not have
// the script (yet, or since SCRIPT FLUSH or a restart).
func noScript(err error) bool {
	return err != nil && redis.HasErrorPrefix(err, "NOSCRIPT")
}
