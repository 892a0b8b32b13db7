package deduper_test

import (
	"strings"
	"testing"

	"github.com/codathook/codathook/internal/deduper"
)

// TestLeaseMatch checks the kind of key that makes each duplicate one, and
// the key reported with it.
func TestLeaseMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		first, second step
		want          deduper.Match
		keyPrefix     string // of the reported key; "" when none is reported
	}{
		{"a retry of the same message", step{"msg_1", newConn("e1", "connection.connected", "Linked"), P},
			step{"msg_1", newConn("e1", "connection.connected", "Linked"), D}, deduper.MatchMessage, ""},
		{"a resend with the same body id", step{"msg_1", newConn("e1", "connection.connected", "Linked"), P},
			step{"msg_2", newConn("e1", "connection.connected", "Linked"), D}, deduper.MatchEvent, "i:"},
		{"a keyless retry (the body id is the delivery key)", step{"", newConn("e1", "connection.connected", "Linked"), P},
			step{"", newConn("e1", "connection.connected", "Linked"), D}, deduper.MatchEvent, ""},
		{"a twin with the same push operation key", step{"a2", legacyPush("a2", "Success", "push-1"), P},
			step{"msg_2", newWrite("e2", "successful", "Success", "push-1"), D}, deduper.MatchOccurrence, "x:"},
		{"a legacy event of the same dataset", step{"a1", legacyDataset("a1", "Data sync completed", "invoices", "ds-1"), P},
			step{"a2", legacyDataset("a2", "Dataset data changed", "invoices", "ds-1"), D}, deduper.MatchOccurrence, "s:"},
		{"a twin paired on its occurrence", step{"a1", legacyConnStatus("a1", "PendingAuth", "Linked"), P},
			step{"msg_1", newConn("e1", "connection.connected", "Linked"), D}, deduper.MatchTwin, "o:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.run([]step{tt.first})
			l := e.begin(tt.second.key, tt.second.body)
			if l.Outcome() != deduper.Duplicate {
				t.Fatalf("outcome = %v, want duplicate", l.Outcome())
			}
			m, key := l.Match()
			if m != tt.want || !strings.HasPrefix(key, tt.keyPrefix) || (tt.keyPrefix == "") != (key == "") {
				t.Errorf("Match() = %q, %q; want %q and a key starting %q", m, key, tt.want, tt.keyPrefix)
			}
		})
	}
	t.Run("a delivery to process has no match", func(t *testing.T) {
		t.Parallel()
		l := newEnv(t).begin("msg_1", newConn("e1", "connection.connected", "Linked"))
		if m, key := l.Match(); l.Outcome() != deduper.Process || m != "" || key != "" {
			t.Errorf("outcome %v, Match() = %q, %q; want process and no match", l.Outcome(), m, key)
		}
	})
}

// TestMessageKeys checks that a message's delivery key and claim are the
// ones Processed and Begin derive from the key alone, for a short id and
// for one long enough to be bounded to a digest.
func TestMessageKeys(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"msg_2KWPBgLlAfxdpx", strings.Repeat("m", 300)} {
		key, claim := deduper.MessageKeys(id)
		if key != "msg:"+id {
			t.Errorf("MessageKeys(%.20q) key = %.30q, want msg: + id", id, key)
		}
		if want := deduper.DeliveryClaim(key); claim != want {
			t.Errorf("MessageKeys(%.20q) claim = %.30q, want DeliveryClaim(key) = %.30q", id, claim, want)
		}
	}
}
