package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/codathook/codathook/codathooktest"
)

// TestSendEverySample sends every sample, in both formats, with the
// defaults, to a real receiver configured with the development
// credentials: each is processed, none mistaken for another, except the
// legacy rate-limit rules: a rate-limit event carries no id, only its
// quota's expiry, which the samples of both formats share, so each is the
// twin of the new event sent before it.
func TestSendEverySample(t *testing.T) {
	t.Parallel()
	r := newReceiver(t, devSecrets(), codathooktest.DevAuthorization, false)
	eventTypes, ruleTypes := codathooktest.SampleNames()
	var runs [][]string
	for _, typ := range append(eventTypes, "bills.write.unsuccessful") {
		runs = append(runs, []string{"send", "-url", r.newURL(), typ})
	}
	runs = append(runs, []string{"send", "-svix", "-url", r.newURL(), "connection.connected"})
	for _, rule := range ruleTypes {
		runs = append(runs, []string{"send", "-legacy", "-url", r.legacyURL(), rule})
	}
	twins := 0
	for _, args := range runs {
		want := "Codathook-Result: processed\n"
		if strings.HasPrefix(args[len(args)-1], "Rate Limit") {
			want = "Codathook-Result: duplicate\nCodathook-Match: occurrence\n"
			twins++
		}
		res := runCLI(t, devEnv, "", r.srv.Client(), args...)
		if res.code != 0 || !strings.Contains(res.stdout, want) {
			t.Errorf("%q: exit %d, want 0 and %q\nstdout: %s\nstderr: %s", args, res.code, want, res.stdout, res.stderr)
		}
	}
	if got, want := len(r.processed()), len(runs)-twins; got != want {
		t.Errorf("events processed = %d, want %d (one per send)", got, want)
	}
}

// TestSendIDFlags checks that each id flag reaches the receiver, that a
// repeated -message-id is a resend and that the same company and
// connection in the other format is the occurrence's twin.
func TestSendIDFlags(t *testing.T) {
	t.Parallel()
	r := newReceiver(t, devSecrets(), codathooktest.DevAuthorization, false)
	send := func(args ...string) result {
		t.Helper()
		return runCLI(t, devEnv, "", r.srv.Client(), append([]string{"send"}, args...)...)
	}
	steps := []struct {
		name       string
		args       []string
		wantResult string
		wantMatch  string
	}{
		{"a new delivery with every id set", []string{"-url", r.newURL(), "-event-id", "ev-1", "-message-id", "msg_one", "-company", "co-1", "-connection", "k-1", "connection.connected"}, "processed", ""},
		{"the same message again", []string{"-url", r.newURL(), "-message-id", "msg_one", "-company", "co-9", "connection.connected"}, "duplicate", "message"},
		{"its legacy twin: same company and connection", []string{"-legacy", "-url", r.legacyURL(), "-company", "co-1", "-connection", "k-1", "DataConnectionStatusChanged"}, "duplicate", "twin"},
		{"a legacy delivery with fresh ids", []string{"-legacy", "-url", r.legacyURL(), "DataConnectionStatusChanged"}, "processed", ""},
		{"a write with its push operation key", []string{"-url", r.newURL(), "-push-operation-id", "op-1", "-company", "co-2", "invoices.write.successful"}, "processed", ""},
		{"the legacy push operation of the same key", []string{"-legacy", "-url", r.legacyURL(), "-push-operation-id", "op-1", "-company", "co-2", "Push Operation Status Changed()"}, "duplicate", "occurrence"},
		{"an expenses sync with its sync id", []string{"-url", r.newURL(), "-sync-id", "sync-1", "expenses.sync.successful"}, "processed", ""},
		{"a second sync, fresh sync id", []string{"-url", r.newURL(), "expenses.sync.successful"}, "processed", ""},
	}
	for _, s := range steps {
		res := send(s.args...)
		if !strings.Contains(res.stdout, "Codathook-Result: "+s.wantResult+"\n") {
			t.Errorf("%s: stdout %q, want result %s", s.name, res.stdout, s.wantResult)
		}
		if s.wantMatch != "" && !strings.Contains(res.stdout, "Codathook-Match: "+s.wantMatch+"\n") {
			t.Errorf("%s: stdout %q, want match %s", s.name, res.stdout, s.wantMatch)
		}
		if res.code != 0 {
			t.Errorf("%s: exit %d, want 0", s.name, res.code)
		}
	}
	evs := r.processed()
	if len(evs) < 1 {
		t.Fatal("nothing processed")
	}
	if ev := evs[0]; ev.ID != "ev-1" || ev.CompanyID != "co-1" || ev.ConnectionID != "k-1" {
		t.Errorf("first event: id %q company %q connection %q, want ev-1 co-1 k-1", ev.ID, ev.CompanyID, ev.ConnectionID)
	}
	var sawOp, sawSync bool
	for _, ev := range evs {
		for _, o := range ev.Occurrences() {
			sawOp = sawOp || o.ExactID == "op-1"
			sawSync = sawSync || o.ExactID == "sync-1"
		}
	}
	if !sawOp || !sawSync {
		t.Errorf("push operation key op-1 seen %v, sync id sync-1 seen %v; want both", sawOp, sawSync)
	}
}

// TestSendRefused checks each answer that is not a 2xx, and a receiver
// that cannot be reached: exit 1, with the answer or the -url named.
func TestSendRefused(t *testing.T) {
	t.Parallel()
	r := newReceiver(t, devSecrets(), codathooktest.DevAuthorization, false)
	down := newReceiver(t, devSecrets(), "", false)
	down.srv.Close()
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{"another secret", nil, []string{"-secret", codathooktest.NewSecret(), "-url", r.newURL(), "connection.connected"}, []string{"401 Unauthorized", "Codathook-Result: unauthorized"}},
		{"another secret from the environment", map[string]string{envSecret: codathooktest.NewSecret()}, []string{"-url", r.newURL(), "connection.connected"}, []string{"401 Unauthorized"}},
		{"another legacy authorization", nil, []string{"-legacy", "-auth", "Bearer wrong", "-url", r.legacyURL(), "Sync Completed"}, []string{"401 Unauthorized"}},
		{"a method the receiver refuses", nil, []string{"-method", "PATCH", "-url", r.newURL(), "connection.connected"}, []string{"405 Method Not Allowed", "Allow: POST, PUT", "Codathook-Result: method_not_allowed"}},
		{"a failing callback", nil, []string{"-company", "fail", "-url", r.newURL(), "company.created"}, []string{"503 Service Unavailable", "Retry-After: 5", "Codathook-Result: failed"}},
		{"a new delivery on the legacy endpoint", nil, []string{"-url", r.legacyURL(), "-secret", codathooktest.NewSecret(), "connection.connected"}, []string{"401 Unauthorized"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := runCLI(t, tt.env, "", r.srv.Client(), append([]string{"send"}, tt.args...)...)
			if res.code != 1 {
				t.Errorf("exit %d, want 1\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
			}
			wantLines(t, "stdout", res.stdout, tt.want...)
		})
	}
	t.Run("no receiver", func(t *testing.T) {
		t.Parallel()
		res := runCLI(t, nil, "", nil, "send", "-url", down.newURL(), "connection.connected")
		if res.code != 1 || !strings.Contains(res.stderr, "-url "+down.newURL()+": ") || !strings.Contains(res.stderr, "refused") {
			t.Errorf("exit %d, stderr %q; want 1 and the -url that refused the connection", res.code, res.stderr)
		}
	})
}

// TestSendUsageErrors checks that each mistake exits 2 before anything is
// sent and names the command's own flag or argument, never a Go name.
func TestSendUsageErrors(t *testing.T) {
	t.Parallel()
	r := newReceiver(t, devSecrets(), codathooktest.DevAuthorization, false)
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no type", nil, nil, "TYPE is missing"},
		{"two types", nil, []string{"connection.connected", "read.completed"}, "one TYPE expected"},
		{"an unknown type", nil, []string{"no.such.type"}, `no event type "no.such.type" ("codathook samples" lists them)`},
		{"a legacy rule without -legacy", nil, []string{"Sync Completed"}, "add -legacy"},
		{"a new type with -legacy", nil, []string{"-legacy", "connection.connected"}, "drop -legacy"},
		{"an unknown legacy rule", nil, []string{"-legacy", "Sync Paused"}, `no legacy rule type "Sync Paused"`},
		{"a sync id on a type without one", nil, []string{"-sync-id", "s", "connection.connected"}, "-sync-id: connection.connected carries no sync id"},
		{"a push operation key on a type without one", nil, []string{"-push-operation-id", "p", "expenses.sync.successful"}, "-push-operation-id: expenses.sync.successful carries no push operation key"},
		{"both operation ids", nil, []string{"-sync-id", "s", "-push-operation-id", "p", "expenses.sync.successful"}, "-sync-id and -push-operation-id"},
		{"svix on a legacy delivery", nil, []string{"-svix", "-legacy", "Sync Completed"}, "-svix signs a new-format delivery"},
		{"a message id on a legacy delivery", nil, []string{"-message-id", "m", "-legacy", "Sync Completed"}, "-message-id is the webhook-id header"},
		{"an undecodable secret", nil, []string{"-secret", "whsec_!!", "connection.connected"}, "-secret (whsec_…): is not whsec_ followed by standard base64"},
		{"a short secret", nil, []string{"-secret", "whsec_c2hvcnQ=", "connection.connected"}, "-secret (whsec_c2…): decodes to 5 bytes; a receiver needs at least 16"},
		{"a url-safe secret", nil, []string{"-secret", "whsec_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-", "connection.connected"}, "is URL-safe base64"},
		{"a secret without its prefix's underscore", nil, []string{"-secret", "whsecKqHaGUK6uYhry8y0FLLBkEIFAiOr1JHD", "connection.connected"}, `starts with "whsecK"`},
		{"the second of two secrets", nil, []string{"-secret", codathooktest.DevSecret + ",whsec_c2hvcnQ=", "connection.connected"}, "-secret, secret 2 of 2 (whsec_c2…)"},
		{"a bad secret in the environment", map[string]string{envSecret: "'" + codathooktest.DevSecret + "'"}, []string{"connection.connected"}, "$CODAT_WEBHOOK_SECRET ("},
		{"a method that is not one", nil, []string{"-method", "GET /x", "connection.connected"}, `-method "GET /x" is not an HTTP method`},
		{"a url that is no http url", nil, []string{"-url", "127.0.0.1:8080/webhooks/codat", "connection.connected"}, `-url "127.0.0.1:8080/webhooks/codat" is not an http or https URL`},
		{"an unknown flag", nil, []string{"-nope", "connection.connected"}, "flag provided but not defined: -nope"},
		{"a flag without its value", nil, []string{"connection.connected", "-company"}, "flag needs an argument: -company"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"send", "-url", r.newURL()}, tt.args...)
			res := runCLI(t, tt.env, "", r.srv.Client(), args...)
			if res.code != 2 {
				t.Errorf("exit %d, want 2\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
			}
			if !strings.Contains(res.stderr, tt.want) {
				t.Errorf("stderr %q, want it to say %q", res.stderr, tt.want)
			}
			if m := goIdentifiers.FindString(res.stderr); m != "" {
				t.Errorf("stderr names %q, a Go identifier, not a flag:\n%s", m, res.stderr)
			}
			if strings.Contains(res.stderr, codathooktest.DevSecret) {
				t.Errorf("stderr shows a whole secret:\n%s", res.stderr)
			}
		})
	}
	if n := len(r.processed()); n != 0 {
		t.Errorf("%d deliveries were processed by usage errors, want none", n)
	}
	if res := runCLI(t, nil, "", nil, "send", "-h"); res.code != 0 || !strings.Contains(res.stderr, "-push-operation-id") {
		t.Errorf("send -h: exit %d, stderr %q; want 0 and the flags", res.code, res.stderr)
	}
	_ = http.MethodPost
}
