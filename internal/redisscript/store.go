package redisscript

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/codathook/codathook/dedupe"
)

// DefaultPrefix is the prefix receivers use unless configured otherwise;
// receivers that must see each other's deliveries use the same one.
const DefaultPrefix = "codathook:dedupe:"

// Transport sends commands to Redis.
type Transport interface {
	// Do sends cmds (each a command name and its arguments), in one round
	// trip when it can, and returns one reply per command, in order. A
	// reply is nil (a null), a string (simple or bulk), an int64, an []any
	// (an array of replies) or an [Error] (the command failed on the
	// server). A non-nil error means the round trip failed and no reply is
	// known; it must match ctx.Err() when ctx ended it.
	Do(ctx context.Context, cmds [][]string) ([]any, error)
}

// Error is a Redis error reply, such as "NOSCRIPT No matching script".
type Error string

// Error returns the reply's text.
func (e Error) Error() string { return string(e) }

// Values of a claim key.
const (
	valPending = "P"
	valDone    = "D"
)

// Config configures [New].
type Config struct {
	// Prefix starts every key, as is (callers usually pass DefaultPrefix).
	Prefix string
	// FailOpen makes Redis errors report the answer that lets processing
	// go on (see the redisstore package) instead of returning them.
	FailOpen bool
	// Logger receives fail-open errors (default slog.Default()).
	Logger *slog.Logger
}

// Store is a [dedupe.BatchStore] on a Transport. It is safe for concurrent
// use if its Transport is.
type Store struct {
	t        Transport
	prefix   string
	failOpen bool
	logger   *slog.Logger

	luaClaim   atomic.Bool // the server rejected SET NX GET (Redis < 7.0)
	closed     atomic.Bool
	failErrors atomic.Uint64
}

var _ dedupe.BatchStore = (*Store)(nil)

// New returns a store on t.
func New(t Transport, cfg Config) *Store {
	s := &Store{t: t, prefix: cfg.Prefix, failOpen: cfg.FailOpen, logger: cfg.Logger}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	return s
}

// FailOpenErrors reports how many Redis errors a fail-open store has
// swallowed.
func (s *Store) FailOpenErrors() uint64 { return s.failErrors.Load() }

// script is a Lua script and its SHA-1, for EVALSHA.
type script struct{ src, sha string }

func newScript(src string) script {
	sum := sha1.Sum([]byte(src))
	return script{src: src, sha: hex.EncodeToString(sum[:])}
}

var (
	claimScript = newScript(`
local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false`)

	releaseScript = newScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

	// arriveScript implements dedupe.Arrival's rules on one hash per
	// window-aligned interval of an occurrence key: KEYS[1..3] are the
	// intervals before, of and after the arrival's (one hash tag, so one
	// cluster slot). A hash holds "e" (its epoch, ARGV[7] at creation),
	// "n" (the last slot handed out), "o" (arrivals recorded), "c<len>:<side>"
	// (arrivals of a side) and per arrival "m<len>:<side><member>" =
	// "<at> <order> <slot> <paired 0|1> <slot's epoch>". ARGV: side, member,
	// at and window (Unix ms), limit, the TTL of KEYS[2] in ms, the epoch.
	// The reply is {slot, epoch, paired}; epoch "" when over the limit.
	arriveScript = newScript(`
local side, member = ARGV[1], ARGV[2]
local at, w, limit = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local retry, best
local function better(x, y)
  if not y then return true end
  local dx, dy = math.abs(at - x.at), math.abs(at - y.at)
  return dx < dy or (dx == dy and (x.at < y.at or (x.at == y.at and x.ord < y.ord)))
end
for i = 1, 3 do
  local all = redis.call('HGETALL', KEYS[i])
  for j = 1, #all, 2 do
    local n, rest = string.match(all[j], '^m(%d+):(.*)$')
    if n then
      n = tonumber(n)
      local sat, ord, slot, p, ep = string.match(all[j + 1], '^(%-?%d+) (%d+) (%d+) (%d) (.*)$')
      local x = {key = KEYS[i], field = all[j], sat = sat, at = tonumber(sat), ord = tonumber(ord), slot = slot, p = p, ep = ep}
      if math.abs(at - x.at) <= w then
        if string.sub(rest, 1, n) == side then
          if string.sub(rest, n + 1) == member and better(x, retry) then retry = x end
        elseif p == '0' and better(x, best) then
          best = x
        end
      end
    end
  end
end
if retry then return {tonumber(retry.slot), retry.ep, tonumber(retry.p)} end
local cf = 'c' .. #side .. ':' .. side
if tonumber(redis.call('HGET', KEYS[2], cf) or '0') >= limit then return {0, '', 0} end
if redis.call('EXISTS', KEYS[2]) == 0 then redis.call('HSET', KEYS[2], 'e', ARGV[7]) end
local ord = redis.call('HINCRBY', KEYS[2], 'o', 1)
redis.call('HINCRBY', KEYS[2], cf, 1)
local slot, ep, p
if best then
  redis.call('HSET', best.key, best.field, best.sat .. ' ' .. best.ord .. ' ' .. best.slot .. ' 1 ' .. best.ep)
  slot, ep, p = best.slot, best.ep, 1
else
  slot, ep, p = redis.call('HINCRBY', KEYS[2], 'n', 1), redis.call('HGET', KEYS[2], 'e'), 0
end
redis.call('HSET', KEYS[2], 'm' .. #side .. ':' .. side .. member, ARGV[3] .. ' ' .. ord .. ' ' .. slot .. ' ' .. p .. ' ' .. ep)
local ttl = tonumber(ARGV[6])
if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
return {tonumber(slot), ep, p}`)
)

// ms formats a TTL in whole milliseconds, rounding up, at least 1.
func ms(ttl time.Duration) string {
	if ttl <= 0 {
		return "1"
	}
	return strconv.FormatInt(int64((ttl+time.Millisecond-1)/time.Millisecond), 10)
}

// newEpoch returns a random epoch candidate: 64 random bits.
func newEpoch() string { return strconv.FormatUint(rand.Uint64(), 36) }

// arriveCommand is the arrive script's call for a under key. The three
// interval keys share the hash tag "{#" + key + "}" (never empty, so Redis
// Cluster hashes the tag, whatever key holds).
func (s *Store) arriveCommand(a *dedupe.Arrival, key string) []string {
	at := a.At.UnixMilli()
	w := max(1, int64((a.Window+time.Millisecond-1)/time.Millisecond))
	b := at / w
	if at%w != 0 && at < 0 {
		b--
	}
	stem := s.prefix + "a:{#" + key + "}:"
	// The record of the arrival's interval is kept TTL, and as much
	// longer as the interval reaches past At: intervals expire whole.
	ttl := a.TTL + time.Duration((b+1)*w-at)*time.Millisecond
	return []string{"EVALSHA", arriveScript.sha, "3",
		stem + strconv.FormatInt(b-1, 10), stem + strconv.FormatInt(b, 10), stem + strconv.FormatInt(b+1, 10),
		a.Side, a.Member, strconv.FormatInt(at, 10), strconv.FormatInt(w, 10), strconv.Itoa(max(a.Limit, 0)), ms(ttl), newEpoch()}
}

func evalsha(sc script, key string, args ...string) []string {
	return append([]string{"EVALSHA", sc.sha, "1", key}, args...)
}

// command returns the command for op, and the script it runs (nil for a
// plain command).
func (s *Store) command(op *dedupe.Op) ([]string, *script) {
	switch op.Kind {
	case dedupe.OpClaim:
		k := s.prefix + "c:" + op.Key
		if s.luaClaim.Load() {
			return evalsha(claimScript, k, valPending, ms(op.TTL)), &claimScript
		}
		return []string{"SET", k, valPending, "NX", "GET", "PX", ms(op.TTL)}, nil
	case dedupe.OpCommit:
		return []string{"SET", s.prefix + "c:" + op.Key, valDone, "PX", ms(op.TTL)}, nil
	case dedupe.OpRelease:
		return evalsha(releaseScript, s.prefix+"c:"+op.Key, valPending), &releaseScript
	case dedupe.OpArrive:
		return s.arriveCommand(&op.Arrival, op.Key), &arriveScript
	}
	return nil, nil
}

// Do implements [dedupe.BatchStore.Do]: the whole batch in one round trip,
// plus one more the first time a server meets a script (NOSCRIPT) or
// rejects SET NX GET.
func (s *Store) Do(ctx context.Context, ops []dedupe.Op) error {
	if s.closed.Load() {
		for i := range ops {
			ops[i].Err = dedupe.ErrClosed
		}
		return dedupe.ErrClosed
	}
	cmds := make([][]string, len(ops))
	scripts := make([]*script, len(ops))
	for i := range ops {
		cmds[i], scripts[i] = s.command(&ops[i])
		if cmds[i] == nil {
			err := fmt.Errorf("redisstore: unknown op kind %d", ops[i].Kind)
			for j := range ops {
				ops[j].Err = err
			}
			return err
		}
	}
	replies, err := s.t.Do(ctx, cmds)
	if err == nil && len(replies) != len(cmds) {
		err = fmt.Errorf("transport returned %d replies for %d commands", len(replies), len(cmds))
	}
	if err == nil {
		err = s.retry(ctx, ops, cmds, scripts, replies)
	}
	if err != nil {
		var firstErr error
		for i := range ops {
			s.result(ctx, &ops[i], nil, err)
			if firstErr == nil {
				firstErr = ops[i].Err
			}
		}
		return firstErr
	}
	for i := range ops {
		s.result(ctx, &ops[i], replies[i], nil)
	}
	return nil
}

// retry resends, in one more round trip, the commands the server could not
// run as sent: EVALSHA of a script it does not have yet (sent again as
// EVAL, which loads it) and SET NX GET on a server older than 7.0 (sent as
// the claim script, which every later claim then uses). Neither ran the
// first time, so resending is safe. It updates replies in place.
func (s *Store) retry(ctx context.Context, ops []dedupe.Op, cmds [][]string, scripts []*script, replies []any) error {
	var idx []int
	var again [][]string
	for i, r := range replies {
		e, ok := r.(Error)
		if !ok {
			continue
		}
		switch {
		case scripts[i] != nil && strings.HasPrefix(string(e), "NOSCRIPT"):
			c := append([]string{"EVAL", scripts[i].src}, cmds[i][2:]...)
			idx, again = append(idx, i), append(again, c)
		case ops[i].Kind == dedupe.OpClaim && scripts[i] == nil && strings.HasPrefix(string(e), "ERR syntax error"):
			s.luaClaim.Store(true)
			c := []string{"EVAL", claimScript.src, "1", cmds[i][1], valPending, cmds[i][6]}
			idx, again = append(idx, i), append(again, c)
		}
	}
	if len(again) == 0 {
		return nil
	}
	r2, err := s.t.Do(ctx, again)
	if err != nil {
		return err
	}
	if len(r2) != len(again) {
		return fmt.Errorf("transport returned %d replies for %d commands", len(r2), len(again))
	}
	for j, i := range idx {
		replies[i] = r2[j]
	}
	return nil
}

// result fills op from its reply (or the batch's error).
func (s *Store) result(ctx context.Context, op *dedupe.Op, reply any, err error) {
	if err == nil {
		if e, ok := reply.(Error); ok {
			err = e
		}
	}
	if err == nil {
		switch op.Kind {
		case dedupe.OpClaim:
			switch reply {
			case nil:
				op.State = dedupe.Claimed
			case valDone:
				op.State = dedupe.Done
			default:
				op.State = dedupe.Pending
			}
			return
		case dedupe.OpCommit, dedupe.OpRelease:
			return
		case dedupe.OpArrive:
			if res, ok := reply.([]any); ok && len(res) == 3 {
				slot, ok1 := res[0].(int64)
				epoch, ok2 := res[1].(string)
				paired, ok3 := res[2].(int64)
				if ok1 && ok2 && ok3 {
					op.Pairing = dedupe.Pairing{Epoch: epoch, Slot: slot, Paired: paired == 1}
					return
				}
			}
			err = fmt.Errorf("unexpected reply %v", reply)
		}
	}
	op.Err = s.failed(ctx, opName[op.Kind], err)
	if op.Err != nil {
		return
	}
	// Fail open: the answer that lets processing go on.
	switch op.Kind {
	case dedupe.OpClaim:
		op.State = dedupe.Claimed
	case dedupe.OpArrive:
		// A slot of its own: it can be claimed by nobody else.
		op.Pairing = dedupe.Pairing{Epoch: "failopen-" + newEpoch(), Slot: 1}
	}
}

var opName = [...]string{dedupe.OpClaim: "claim", dedupe.OpCommit: "commit", dedupe.OpRelease: "release", dedupe.OpArrive: "arrive"}

// failed handles a Redis error: it returns the wrapped error when failing
// closed (or when ctx is done), and nil after logging when failing open.
func (s *Store) failed(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return fmt.Errorf("redisstore: %s: %w", op, err)
	}
	if !s.failOpen {
		return fmt.Errorf("redisstore: %s: %w", op, err)
	}
	s.failErrors.Add(1)
	s.logger.Warn("redisstore: Redis error ignored (fail-open); a duplicate may be processed",
		slog.String("op", op), slog.Any("error", err))
	return nil
}

// one runs a single op.
func (s *Store) one(ctx context.Context, op dedupe.Op) dedupe.Op {
	ops := [1]dedupe.Op{op}
	_ = s.Do(ctx, ops[:])
	return ops[0]
}

// Claim implements [dedupe.Store.Claim].
func (s *Store) Claim(ctx context.Context, key string, ttl time.Duration) (dedupe.State, error) {
	op := s.one(ctx, dedupe.Op{Kind: dedupe.OpClaim, Key: key, TTL: ttl})
	return op.State, op.Err
}

// Commit implements [dedupe.Store.Commit].
func (s *Store) Commit(ctx context.Context, key string, ttl time.Duration) error {
	return s.one(ctx, dedupe.Op{Kind: dedupe.OpCommit, Key: key, TTL: ttl}).Err
}

// Release implements [dedupe.Store.Release]: it deletes the key only while
// it is Pending.
func (s *Store) Release(ctx context.Context, key string) error {
	return s.one(ctx, dedupe.Op{Kind: dedupe.OpRelease, Key: key}).Err
}

// Arrive implements [dedupe.Store.Arrive].
func (s *Store) Arrive(ctx context.Context, key string, a dedupe.Arrival) (dedupe.Pairing, error) {
	op := s.one(ctx, dedupe.Op{Kind: dedupe.OpArrive, Key: key, Arrival: a})
	return op.Pairing, op.Err
}

// Close marks the store closed; it does not close the transport. It is
// idempotent; afterwards every method returns [dedupe.ErrClosed].
func (s *Store) Close(_ context.Context) error {
	s.closed.Store(true)
	return nil
}
