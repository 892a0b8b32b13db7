package codathook_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/dedupe"
)

// txStore is a dedupe.TxStore over the LRU with an application table of its
// own: a transaction holds the callback's rows and the delivery's commits,
// and Commit applies both under one lock, or neither. fail makes the next
// Commit fail before applying anything (the connection dropped before
// COMMIT); lost makes it apply everything and then fail (the connection
// dropped after COMMIT, before the answer).
type txStore struct {
	*dedupe.LRU
	mu         sync.Mutex
	rows       map[string]int // the application's table: row -> times written
	fail, lost atomic.Bool
	begun      atomic.Int64
}

type txKey struct{}

type fakeTx struct {
	s    *txStore
	rows []string
	done bool
}

func (s *txStore) BeginTx(ctx context.Context) (context.Context, dedupe.Tx, error) {
	s.begun.Add(1)
	tx := &fakeTx{s: s}
	return context.WithValue(ctx, txKey{}, tx), tx, nil
}

// insert is the application's write, in the delivery's transaction.
func insert(ctx context.Context, row string) error {
	tx, ok := ctx.Value(txKey{}).(*fakeTx)
	if !ok {
		return errors.New("no transaction in the callback's context")
	}
	tx.rows = append(tx.rows, row)
	return nil
}

func (tx *fakeTx) Commit(ctx context.Context, ops []dedupe.Op) error {
	if tx.s.fail.CompareAndSwap(true, false) {
		return errors.New("connection reset before COMMIT")
	}
	tx.s.mu.Lock()
	defer tx.s.mu.Unlock()
	if err := tx.s.LRU.Do(ctx, ops); err != nil {
		return err
	}
	for _, r := range tx.rows {
		tx.s.rows[r]++
	}
	tx.done = true
	if tx.s.lost.CompareAndSwap(true, false) {
		return errors.New("connection reset after COMMIT")
	}
	return nil
}

func (tx *fakeTx) Rollback(context.Context) error {
	tx.rows = nil
	return nil
}

func (s *txStore) count(row string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rows[row]
}

// With a dedupe.TxStore, the callback's writes and the delivery's commit
// are one transaction: a commit that fails before COMMIT leaves neither
// (503, and the retry writes once), one that fails after it leaves both
// (503, and the retry is a duplicate), and a failing callback's writes are
// rolled back. Across all of it the row is written exactly once.
func TestTransactionalCommit(t *testing.T) {
	t.Parallel()
	store := &txStore{LRU: dedupe.NewLRU(dedupe.LRUConfig{}), rows: map[string]int{}}
	var failCallback atomic.Bool
	h := newHarness(t, codathook.WithDedupe(store, nil))
	err := codathook.On(h.rcv, "company.created", func(ctx context.Context, ev *codathook.CompanyEvent) error {
		if err := insert(ctx, "company:"+ev.Payload.ID); err != nil {
			return err
		}
		if failCallback.Load() {
			return errors.New("a later step failed")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	deliver := func(id, msg string) codathook.Result {
		t.Helper()
		s := *h.signer
		s.MsgID = msg
		body := []byte(`{"id":"` + id + `","eventType":"company.created","payload":{"id":"` + id + `","name":"n"}}`)
		resp, _ := send(t, s.NewRequest(http.MethodPost, h.newURL(), body))
		return result(resp)
	}
	steps := []struct {
		name       string
		fail, lost bool
		callback   bool // the callback fails
		id, msg    string
		want       codathook.Result
		rows       int
	}{
		{name: "commit fails before COMMIT", fail: true, id: "co-1", msg: "msg_1", want: codathook.ResultUnavailable, rows: 0},
		{name: "its retry", id: "co-1", msg: "msg_1", want: codathook.ResultProcessed, rows: 1},
		{name: "a resend", id: "co-1", msg: "msg_1", want: codathook.ResultDuplicate, rows: 1},
		{name: "commit fails after COMMIT", lost: true, id: "co-2", msg: "msg_2", want: codathook.ResultUnavailable, rows: 1},
		{name: "its retry is a duplicate", id: "co-2", msg: "msg_2", want: codathook.ResultDuplicate, rows: 1},
		{name: "the callback fails", callback: true, id: "co-3", msg: "msg_3", want: codathook.ResultFailed, rows: 0},
		{name: "its retry", id: "co-3", msg: "msg_3", want: codathook.ResultProcessed, rows: 1},
	}
	for _, st := range steps {
		store.fail.Store(st.fail)
		store.lost.Store(st.lost)
		failCallback.Store(st.callback)
		if got := deliver(st.id, st.msg); got != st.want {
			t.Errorf("%s: %s, want %s", st.name, got, st.want)
		}
		if got := store.count("company:" + st.id); got != st.rows {
			t.Errorf("%s: row company:%s written %d times, want %d", st.name, st.id, got, st.rows)
		}
	}
	if n := store.begun.Load(); n != 5 {
		t.Errorf("%d transactions begun, want 5 (none for a duplicate)", n)
	}
}
