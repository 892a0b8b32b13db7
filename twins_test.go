package codathook_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
)

// Every event type with a legacy twin is processed once when the occurrence
// arrives in both formats, in either order, whether the legacy AlertId equals
// the new id (exact match) or not (matched on company, connection, type, data
// type and status).
func TestTwinsEveryTypeProcessedOnce(t *testing.T) {
	t.Parallel()
	eventTypes, _ := codathooktest.SampleNames()
	for _, et := range eventTypes {
		for _, sameID := range []bool{true, false} {
			for _, legacyFirst := range []bool{true, false} {
				name := et
				if !sameID {
					name += "/different ids"
				}
				if legacyFirst {
					name += "/legacy first"
				}
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					o := codathooktest.SampleOptions{ID: "new-1", CompanyID: "co-1", ConnectionID: "k-1", OperationID: "op-1"}
					newB, legB, err := codathooktest.Twin(et, o)
					if err != nil {
						t.Skipf("%s has no legacy twin", et)
					}
					if !sameID {
						if strings.HasPrefix(et, "client.rateLimit.") {
							t.Skip("rate limits carry no company or connection: only equal ids can match them")
						}
						// The twin's AlertId is o.ID; give the legacy body its own.
						legB = bytes.Replace(legB, []byte(`"AlertId":"new-1"`), []byte(`"AlertId":"legacy-1"`), 1)
						if !bytes.Contains(legB, []byte(`"AlertId":"legacy-1"`)) {
							t.Fatalf("legacy twin without AlertId new-1: %s", legB)
						}
					}
					h := newHarness(t)
					sendNew := func() *http.Response {
						r, _ := send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), newB))
						return r
					}
					sendLegacy := func() *http.Response {
						r, _ := send(t, codathooktest.NewLegacyRequest(h.legacyURL(), legacyAuth, legB))
						return r
					}
					var second *http.Response
					if legacyFirst {
						sendLegacy()
						second = sendNew()
					} else {
						sendNew()
						second = sendLegacy()
					}
					if got := h.calls.Load(); got != 1 {
						t.Errorf("callback calls = %d, want 1; second answer %q", got, result(second))
					}
					if got := result(second); got != codathook.ResultDuplicate {
						t.Errorf("twin's answer = %q, want duplicate", got)
					}
				})
			}
		}
	}
}
