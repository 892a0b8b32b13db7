package redisstore_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
	"github.com/codathook/codathook/dedupe"
	"github.com/codathook/codathook/dedupe/redisstore"
	"github.com/redis/go-redis/v9"
)

// hashTag returns what Redis Cluster hashes of key: the part between the
// first '{' and the first '}' after it when that is not empty, else the
// whole key.
func hashTag(key string) string {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			return key[i+1 : i+1+j]
		}
	}
	return key
}

// clusterKeys returns every key under prefix on each master, by address
// (SCAN on each master).
func clusterKeys(t *testing.T, cc *redis.ClusterClient, prefix string) map[string][]string {
	t.Helper()
	var mu sync.Mutex
	keys := map[string][]string{}
	err := cc.ForEachMaster(t.Context(), func(ctx context.Context, m *redis.Client) error {
		var ks []string
		iter := m.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			ks = append(ks, iter.Val())
		}
		mu.Lock()
		keys[m.Options().Addr] = ks
		mu.Unlock()
		return iter.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// deliverEveryKind sends r one delivery of each kind the store sees, and
// their retries and cross-format twins, and fails t unless each is
// processed or a duplicate with no error: a CROSSSLOT (a script call whose
// keys hash to several slots) would fail its delivery.
func deliverEveryKind(t *testing.T, r *replica) {
	t.Helper()
	check := func(what string, o codathook.Outcome, want codathook.Result) {
		t.Helper()
		if o.Result != want || o.Err != nil {
			t.Errorf("%s: %q (%v), want %q", what, o.Result, o.Err, want)
		}
	}
	gen := time.Now().UTC().Format(time.RFC3339Nano)
	for i, et := range []string{"connection.connected", "invoices.write.successful", "expenses.sync.successful", "read.completed"} {
		o := codathooktest.SampleOptions{ID: fmt.Sprint("ev-", i), CompanyID: fmt.Sprint("co-", i), ConnectionID: fmt.Sprint("conn-", i),
			OperationID: fmt.Sprint("op-", i), GeneratedDate: gen}
		newB, legB, err := codathooktest.Twin(et, o)
		if err != nil {
			t.Fatal(err)
		}
		// Another AlertId: the twins meet by pairing or their exact key, not
		// by their event id.
		legB = bytes.Replace(legB, []byte(`"AlertId":"`+o.ID+`"`), []byte(`"AlertId":"legacy-`+o.ID+`"`), 1)
		msg := fmt.Sprint("msg_", et)
		check(et+", new", r.deliverNew(msg, newB), codathook.ResultProcessed)
		check(et+", its retry", r.deliverNew(msg, newB), codathook.ResultDuplicate)
		check(et+", its legacy twin", r.deliverLegacy(legB), codathook.ResultDuplicate)
		check(et+", the twin's retry", r.deliverLegacy(legB), codathook.ResultDuplicate)
	}
	// A legacy delivery first, its new twin with the same event id.
	check("legacy first", r.deliverLegacy(legacyTwinBody("shared-id", "lf")), codathook.ResultProcessed)
	check("its new twin, same id", r.deliverNew("msg_lf", bytes.Replace(connBody("lf"), []byte(`"id":"lf"`), []byte(`"id":"shared-id"`), 1)), codathook.ResultDuplicate)
	check("a read.completed of three data types", r.deliverNew("msg_read3", readBody("read3")), codathook.ResultProcessed)
}

// TestClusterKeysShareSlots proves that every call of a script touches
// keys of one slot, the condition for running on a cluster: a single
// arrival's three interval keys share the hash tag "{#" + key + "}" (or
// the key's group), and a batch of keys of one group is one script call
// whose keys, the slot keys the script makes included, are in the
// group's slot. It runs every kind of delivery and every store operation
// on the cluster (a CROSSSLOT error would fail them), a delivery's grouped
// batches, checks the keys of every script call the store sent, and
// checks the keys the store wrote on each master.
func TestClusterKeysShareSlots(t *testing.T) {
	c := sharedCluster(t)
	t.Parallel()
	cc := c.client(t, nil)
	var rec recorder
	cc.AddHook(&rec)
	prefix := fmt.Sprintf("codathook-test:%x:", rand.Uint64())
	s := clusterStore(t, cc, redisstore.WithPrefix(prefix))
	ctx := t.Context()

	deliverEveryKind(t, newReplica(t, s, nil))
	// Each operation alone, then all in one batch; an arrival at an
	// interval's end, whose neighbour interval gets the next one.
	w := time.Minute
	at := time.Now().Truncate(w).Add(w - time.Millisecond)
	a := dedupe.Arrival{Side: "new", Member: "m", At: at, Window: w, TTL: time.Hour, Limit: 8}
	if _, err := s.Claim(ctx, "op", time.Hour); err != nil {
		t.Error(err)
	}
	if err := s.Release(ctx, "op"); err != nil {
		t.Error(err)
	}
	if err := s.Commit(ctx, "op", time.Hour); err != nil {
		t.Error(err)
	}
	if _, err := s.Arrive(ctx, "op", a); err != nil {
		t.Error(err)
	}
	a2 := a
	a2.Side, a2.At = "legacy", at.Add(2*time.Millisecond)
	ops := []dedupe.Op{
		{Kind: dedupe.OpClaim, Key: "batch-1", TTL: time.Hour},
		{Kind: dedupe.OpClaim, Key: "batch-2", TTL: time.Hour},
		{Kind: dedupe.OpRelease, Key: "batch-1"},
		{Kind: dedupe.OpCommit, Key: "batch-2", TTL: time.Hour},
		{Kind: dedupe.OpArrive, Key: "op", Arrival: a2},
		{Kind: dedupe.OpArrive, Key: "batch-3", Arrival: a},
	}
	if err := s.Do(ctx, ops); err != nil {
		t.Error(err)
	}
	if p := ops[4].Pairing; !p.Paired {
		t.Errorf("the legacy arrival in the next interval: %+v, want paired with the new one", p)
	}
	batches := rec.take()
	cache := map[string]int64{}
	grouped, slotKeys := groupedBatches(t, cc, s, &rec, prefix, at)
	batches = append(batches, grouped...)

	// Every script call's keys hash to one slot.
	calls, arrives := 0, 0
	for _, batch := range batches {
		for _, keys := range batch {
			calls++
			if len(keys) == 3 {
				arrives++
			}
			want := slotOf(t, cc, cache, keys[0])
			for _, k := range keys[1:] {
				if got := slotOf(t, cc, cache, k); got != want {
					t.Errorf("one call's keys on slots %d and %d: %q, %q", want, got, keys[0], k)
				}
			}
		}
	}
	if arrives == 0 || calls == arrives {
		t.Fatalf("recorded %d commands, %d of them arrive scripts: want both kinds", calls, arrives)
	}

	// The keys written: spread over the masters; the intervals of one
	// occurrence key in one slot, that of their tag: "#" + key, or the
	// key's group.
	onMasters := clusterKeys(t, cc, prefix)
	stems := map[string]int64{} // an occurrence key's intervals' stem: their slot
	intervals := map[string]int{}
	total, used := 0, 0
	for addr, keys := range onMasters {
		total += len(keys)
		if len(keys) > 0 {
			used++
		}
		for _, k := range keys {
			if !strings.HasPrefix(k, prefix+"a:") {
				continue
			}
			tag := hashTag(k)
			// "{#" + key + "}", or the key's group "{g}".
			if !strings.HasPrefix(k, prefix+"a:{"+tag+"}") {
				t.Errorf("arrival key %q on %s: hash tag %q, want \"#\" + its occurrence key, or its group", k, addr, tag)
			}
			slot := slotOf(t, cc, cache, k)
			if ts := slotOf(t, cc, cache, tag); ts != slot {
				t.Errorf("arrival key %q: slot %d, its tag %q's %d", k, slot, tag, ts)
			}
			stem := k[:strings.LastIndexByte(k, ':')]
			if s, ok := stems[stem]; ok && s != slot {
				t.Errorf("intervals of %q on slots %d and %d", stem, s, slot)
			}
			stems[stem] = slot
			intervals[stem]++
		}
	}
	checkGroupKeys(t, cc, cache, prefix, onMasters, slotKeys)
	if used < 2 || len(stems) == 0 || intervals[prefix+"a:{#op}"] != 2 {
		t.Errorf("%d keys on %d of 3 masters, %d occurrence keys, %d intervals of \"op\": want keys on several masters, arrivals among them, two intervals of \"op\"",
			total, used, len(stems), intervals[prefix+"a:{#op}"])
	}
	t.Logf("%d commands (%d arrive scripts) checked; %d keys on %d masters, the intervals of %d occurrence keys", calls, arrives, total, used, len(stems))

	// A prefix is part of every key, so a hash tag in it is the keys' tag:
	// "{tag}" puts every key of the store on one slot, one master (it
	// works, unsharded); "{}" first, an empty tag, makes Redis hash every
	// key whole, and the arrive script's keys would land on three slots
	// (CROSSSLOT: every delivery failed, or with WithFailOpen every twin
	// processed again), so New refuses it on a cluster.
	t.Run("a hash tag in the prefix", func(t *testing.T) {
		one := fmt.Sprintf("{codathook-test-%x}:", rand.Uint64())
		deliverEveryKind(t, newReplica(t, clusterStore(t, cc, redisstore.WithPrefix(one)), nil))
		slots := map[int64]int{}
		for _, keys := range clusterKeys(t, cc, one) {
			for _, k := range keys {
				slots[slotOf(t, cc, cache, k)]++
			}
		}
		if len(slots) != 1 {
			t.Errorf("prefix %q: keys on slots %v, want one", one, slots)
		}
		for _, p := range []string{"codathook-test:{}:", "{}", "x{}{y}"} {
			_, err := redisstore.New(ctx, cc, redisstore.WithPrefix(p), redisstore.WithLogger(slog.New(slog.DiscardHandler)))
			if err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
				t.Errorf("New on the cluster, prefix %q: error %v, want one saying the keys would not share a slot (CROSSSLOT)", p, err)
			}
		}
		ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": c.nodes[0].Addr(), "b": c.nodes[1].Addr()}})
		defer ring.Close()
		if _, err := redisstore.New(ctx, ring, redisstore.WithPrefix("{}")); err == nil || !strings.Contains(err.Error(), "ring") {
			t.Errorf("New on a ring, prefix {}: error %v, want one about the ring's shards", err)
		}
		// One server holds every key: there the prefix is only a prefix.
		if _, err := redisstore.New(ctx, c.nodes[0].client(t), redisstore.WithPrefix("codathook-test:{}:"),
			redisstore.WithLogger(slog.New(slog.DiscardHandler))); err != nil {
			t.Errorf("New on a *redis.Client, prefix with {}: %v, want no error", err)
		}
	})
}

// groupedBatches runs on s a delivery's batches with keys of one group,
// as the Deduper sends them on a shared store: a new delivery's begin (its
// arrival claiming its slot), its twin's in the other format (paired, the
// slot held), and their settles. Each must be one script call, all of
// whose keys, the ones the script makes included, are in the group's
// slot, so no CROSSSLOT. It returns the batches rec recorded and the
// Redis keys of the slots the script claimed (under prefix).
func groupedBatches(t *testing.T, cc *redis.ClusterClient, s *redisstore.Store, rec *recorder, prefix string, at time.Time) ([][][]string, []string) {
	t.Helper()
	ctx := t.Context()
	begin := beginBatch(group, "g", at)
	if err := s.Do(ctx, begin); err != nil {
		t.Error(err)
	}
	checkBegin(t, "a grouped begin", begin)
	twin := beginBatch(group, "g", at.Add(-time.Second)) // in the same interval
	twin[0].Key, twin[1].Key = group+"d:legacy_g", group+"i:legacy_g"
	twin[2].Arrival.Side, twin[2].Arrival.Member = "legacy", "legacy_g"
	twin[3].Arrival.Side, twin[3].Arrival.Member = "legacy", "legacy_g"
	if err := s.Do(ctx, twin); err != nil {
		t.Error(err)
	}
	if twin[2].Err != nil || !twin[2].Pairing.Paired || twin[2].Pairing.Epoch != begin[2].Pairing.Epoch ||
		twin[2].Pairing.Slot != begin[2].Pairing.Slot || twin[2].State != dedupe.Pending {
		t.Errorf("the grouped twin: %+v, %v, %v; want paired with %+v, its slot pending", twin[2].Pairing, twin[2].State, twin[2].Err, begin[2].Pairing)
	}
	settle := settleBatch(group, "g", begin[2].Pairing)
	settleTwin := []dedupe.Op{
		{Kind: dedupe.OpCommit, Key: twin[0].Key, TTL: time.Hour},
		{Kind: dedupe.OpRelease, Key: twin[1].Key},
	}
	for _, ops := range [][]dedupe.Op{settle, settleTwin} {
		if err := s.Do(ctx, ops); err != nil {
			t.Error(err)
		}
		for _, o := range ops {
			if o.Err != nil {
				t.Errorf("grouped settle: %s: %v", o.Key, o.Err)
			}
		}
	}
	batches := rec.take()
	if len(batches) != 4 {
		t.Errorf("the grouped batches went out as %d batches, want 4 (one script call each)", len(batches))
	}
	for i, b := range batches {
		if len(b) != 1 {
			t.Errorf("grouped batch %d went out as %d commands, want one script call", i, len(b))
		}
	}

	// A script on a cluster may write a key it was not given in KEYS (the
	// slot claim) when the key is in the slot of the given ones. A key of
	// another slot is refused when another master serves that slot (a
	// non-local key), and a key of another slot on the same node is
	// accepted by Redis 7.0 for a script without flags but would break
	// when the slot moves: hence the store runs a batch whole only when
	// every key, the slot keys' stems included, has the one tag.
	in := prefix + "probe:" + group + "1"
	m, err := cc.MasterForKey(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	write := "redis.call('SET', KEYS[1], '1'); return redis.call('SET', ARGV[1], '1')"
	if err := m.Eval(ctx, write, []string{in}, prefix+"probe:"+group+"2").Err(); err != nil {
		t.Errorf("a script writing an undeclared key of its slot: %v, want OK", err)
	}
	var sameNode, otherNode bool
	probes := map[string]int64{}
	for i := 0; !sameNode || !otherNode; i++ {
		other := fmt.Sprintf("%sprobe:{%d}", prefix, i)
		om, err := cc.MasterForKey(ctx, other)
		if err != nil {
			t.Fatal(err)
		}
		if slotOf(t, cc, probes, other) == slotOf(t, cc, probes, in) {
			continue
		}
		err = m.Eval(ctx, write, []string{in}, other).Err()
		switch {
		case om.Options().Addr != m.Options().Addr && !otherNode:
			otherNode = true
			if err == nil || !strings.Contains(err.Error(), "non local key") {
				t.Errorf("a script writing an undeclared key served by another master: %v, want refused (a non local key)", err)
			}
		case om.Options().Addr == m.Options().Addr && !sameNode:
			sameNode = true
			t.Logf("a script writing an undeclared key of another slot on its node: error %v", err)
		}
	}
	return batches, []string{prefix + "c:" + slotKey(group+"o:g#", begin[2].Pairing)}
}

// checkGroupKeys fails t unless every key under prefix with the group
// hashes to the group's slot, and the keys of want are among them.
func checkGroupKeys(t *testing.T, cc *redis.ClusterClient, cache map[string]int64, prefix string, onMasters map[string][]string, want []string) {
	t.Helper()
	slot := slotOf(t, cc, cache, group)
	found := map[string]bool{}
	n := 0
	for addr, keys := range onMasters {
		for _, k := range keys {
			if !strings.Contains(k, group) || strings.HasPrefix(k, prefix+"probe:") {
				continue
			}
			n++
			found[k] = true
			if got := slotOf(t, cc, cache, k); got != slot || hashTag(k) != group[1:len(group)-1] {
				t.Errorf("grouped key %q on %s: slot %d, tag %q; want the group's, slot %d", k, addr, got, hashTag(k), slot)
			}
		}
	}
	for _, k := range want {
		if !found[k] {
			t.Errorf("the slot key %q is not on the cluster: the script did not claim it", k)
		}
	}
	// Of the begin: two claims, the slot, the interval of each of its
	// two arrivals (the neighbours are only read); of the twin: its
	// delivery key (its exact key was released), its arrivals in the
	// same intervals.
	if n != 6 {
		t.Errorf("%d grouped keys on the cluster, want 6: %v", n, found)
	}
	t.Logf("%d keys of group %s, all on slot %d", n, group, slot)
}
