// Command send signs a sample Codat webhook delivery and posts it to a
// running receiver, such as the quickstart, to try it without Codat.
//
//	go run ./examples/send connection.connected
//	go run ./examples/send -legacy DataConnectionStatusChanged
//	go run ./examples/send -list
//
// TYPE is a new event type (any "{dataType}.write.successful" works) or,
// with -legacy, a legacy rule type such as "Push Operation Status Changed()"
// (matched loosely, so PushOperationStatusChanged works too). The body is the
// codathooktest sample for TYPE with a fresh event id, unless -id is given.
//
// New-format deliveries are signed with every secret in -secret, else in
// CODAT_WEBHOOK_SECRET (space or comma separated), else with
// codathooktest.DevSecret, the quickstart's development secret. Legacy
// deliveries carry the Authorization value of -auth, else the first value of
// CODAT_LEGACY_AUTH (comma separated), else codathooktest.DevAuthorization.
// A -auth given explicitly is also sent on new-format deliveries, as Codat
// does with a migrated consumer's custom Authorization header.
//
// It prints the response status and the headers that explain it
// (Codathook-Result, Retry-After, Allow) and exits non-zero unless the
// status is 2xx.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/codathook/codathook/codathooktest"
)

const (
	defaultNewURL    = "http://127.0.0.1:8080/webhooks/codat"
	defaultLegacyURL = "http://127.0.0.1:8080/webhooks/codat/legacy"
)

// shownHeaders are the response headers worth printing.
var shownHeaders = []string{"Codathook-Result", "Retry-After", "Allow", "Webhook-Delivery"}

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr, nil))
}

// run is main without the process: it returns the exit code (0 sent and
// answered 2xx, 1 any other answer or a failure to send, 2 usage error).
// client nil means a client with a 30 s timeout.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, client *http.Client) int {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: go run ./examples/send [flags] TYPE\n\nflags:\n")
		fs.PrintDefaults()
	}
	url := fs.String("url", "", "receiver URL (default "+defaultNewURL+", or "+defaultLegacyURL+" with -legacy)")
	legacy := fs.Bool("legacy", false, "send a legacy rule-service delivery (TYPE is a legacy rule type)")
	secret := fs.String("secret", "", "whsec_ signing secret(s), space or comma separated (default $CODAT_WEBHOOK_SECRET, else the development secret)")
	auth := fs.String("auth", "", "Authorization header value (default $CODAT_LEGACY_AUTH, else the development value; legacy only unless given)")
	company := fs.String("company", "", "company id to put in the sample")
	connection := fs.String("connection", "", "connection id to put in the sample")
	id := fs.String("id", "", "event id (new) or AlertId (legacy); default a fresh UUID")
	msgID := fs.String("msg-id", "", "webhook-id of the message; repeat one to send a retry (default a fresh msg_ id)")
	svix := fs.Bool("svix", false, "sign with the svix-* header set instead of webhook-*")
	method := fs.String("method", http.MethodPost, "HTTP method (Codat sends PUT when a transformation says so)")
	list := fs.Bool("list", false, "list every sample type and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *list {
		eventTypes, ruleTypes := codathooktest.SampleNames()
		fmt.Fprintln(stdout, "# new event types (any {dataType}.write.successful|unsuccessful works)")
		for _, t := range eventTypes {
			fmt.Fprintln(stdout, t)
		}
		fmt.Fprintln(stdout, "# legacy rule types (with -legacy)")
		for _, t := range ruleTypes {
			fmt.Fprintln(stdout, t)
		}
		return 0
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "send: exactly one TYPE is required (see -list)")
		fs.Usage()
		return 2
	}
	typ := fs.Arg(0)

	// Generated now, as Codat generates an event when it occurs: the receiver
	// pairs a new delivery with its legacy twin by that time.
	opts := codathooktest.SampleOptions{ID: *id, CompanyID: *company, ConnectionID: *connection,
		GeneratedDate: time.Now().UTC().Format(time.RFC3339Nano)}
	if opts.ID == "" {
		opts.ID = codathooktest.NewID()
	}
	target := *url
	var req *http.Request
	if *legacy {
		if target == "" {
			target = defaultLegacyURL
		}
		body, err := codathooktest.LegacySample(typ, opts)
		if err != nil {
			fmt.Fprintln(stderr, "send:", err)
			return 2
		}
		authorization := firstNonEmpty(*auth, firstValue(getenv("CODAT_LEGACY_AUTH"), ","), codathooktest.DevAuthorization)
		req = codathooktest.NewLegacyRequest("/", authorization, body)
		req.Method = *method
	} else {
		if target == "" {
			target = defaultNewURL
		}
		body, err := codathooktest.Sample(typ, opts)
		if err != nil {
			fmt.Fprintln(stderr, "send:", err)
			return 2
		}
		secrets := splitValues(firstNonEmpty(*secret, getenv("CODAT_WEBHOOK_SECRET"), codathooktest.DevSecret), " ,")
		signer, err := codathooktest.NewSigner(secrets...)
		if err != nil {
			fmt.Fprintln(stderr, "send:", err)
			return 2
		}
		signer.MsgID = *msgID
		if *svix {
			signer.HeaderPrefixes = []string{"svix"}
		}
		if *auth != "" {
			signer.Header.Set("Authorization", *auth)
		}
		req = signer.NewRequest(*method, "/", body)
	}

	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	fmt.Fprintf(stderr, "%s %s (%s, id %s)\n", req.Method, target, typ, opts.ID)
	resp, err := codathooktest.Send(ctx, client, target, req)
	if err != nil {
		fmt.Fprintln(stderr, "send:", err)
		return 1
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	fmt.Fprintln(stdout, resp.Status)
	for _, h := range shownHeaders {
		for _, v := range resp.Header.Values(h) {
			fmt.Fprintf(stdout, "%s: %s\n", h, v)
		}
	}
	if s := strings.TrimSpace(string(reply)); s != "" {
		fmt.Fprintln(stdout, s)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return 1
	}
	return 0
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

// splitValues splits s on any of the separator characters, dropping empty
// fields.
func splitValues(s, seps string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(seps, r) })
}

// firstValue returns the first non-empty, trimmed element of a
// sep-separated list.
func firstValue(s, sep string) string {
	for v := range strings.SplitSeq(s, sep) {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}
