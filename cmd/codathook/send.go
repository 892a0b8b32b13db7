package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/codathook/codathook/codathooktest"
)

// The quickstart's endpoints, where send posts by default.
const (
	defaultNewURL    = "http://127.0.0.1:8080/webhooks/codat"
	defaultLegacyURL = "http://127.0.0.1:8080/webhooks/codat/legacy"
)

// shownHeaders are the response headers send prints.
var shownHeaders = []string{"Codathook-Result", "Codathook-Match", "Retry-After", "Allow"}

// sendFlags are the flags of send.
type sendFlags struct {
	url, secret, auth, method               string
	legacy, svix                            bool
	eventID, messageID, company, connection string
	syncID, pushOperationID                 string
}

func (c *cli) send(ctx context.Context, args []string) error {
	fs := c.newFlagSet("send", "[flags] TYPE", "Signs Codat's sample body for TYPE (a new event type, or with -legacy a legacy rule\ntype; \"codathook samples\" lists them) and posts it to a receiver. Every id is fresh\nunless a flag sets it.")
	var f sendFlags
	fs.StringVar(&f.url, "url", "", "receiver endpoint URL (default "+defaultNewURL+", or "+defaultLegacyURL+" with -legacy)")
	fs.BoolVar(&f.legacy, "legacy", false, "send a legacy rule-service delivery: TYPE is a legacy rule type")
	fs.StringVar(&f.secret, "secret", "", "whsec_ signing secret(s), space or comma separated (default $"+envSecret+", else the development secret)")
	fs.StringVar(&f.auth, "auth", "", "Authorization header value (default $"+envAuth+", else the development value; sent on new deliveries only when given)")
	fs.StringVar(&f.eventID, "event-id", "", "event id (new) or AlertId (legacy) (default a fresh UUID)")
	fs.StringVar(&f.messageID, "message-id", "", "webhook-id of the message: repeat one to send a resend (default a fresh msg_ id)")
	fs.StringVar(&f.company, "company", "", "company id (default a fresh UUID)")
	fs.StringVar(&f.connection, "connection", "", "connection id (default a fresh UUID)")
	fs.StringVar(&f.syncID, "sync-id", "", "sync id of an expenses sync or a legacy Sync rule (default a fresh UUID)")
	fs.StringVar(&f.pushOperationID, "push-operation-id", "", "push operation key of a write or a legacy Push Operation rule (default a fresh UUID)")
	fs.BoolVar(&f.svix, "svix", false, "sign with the svix-* header set instead of webhook-*")
	fs.StringVar(&f.method, "method", http.MethodPost, "HTTP method (Codat sends PUT when a transformation says so)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	typ, err := oneArg(pos, "TYPE", " (\"codathook samples\" lists them)")
	if err != nil {
		return err
	}
	if f.svix && f.legacy {
		return usagef("-svix signs a new-format delivery: legacy deliveries are not signed")
	}
	if f.messageID != "" && f.legacy {
		return usagef("-message-id is the webhook-id header of a new-format delivery: a legacy delivery has none (its retries keep their AlertId: -event-id)")
	}
	if f.syncID != "" && f.pushOperationID != "" {
		return usagef("-sync-id and -push-operation-id: a delivery carries one or the other")
	}
	body, err := sampleBody(typ, f, c.now())
	if err != nil {
		return err
	}
	req, err := c.newRequest(typ, f, body)
	if err != nil {
		return err
	}
	target := f.url
	if target == "" {
		target = defaultNewURL
		if f.legacy {
			target = defaultLegacyURL
		}
	}
	if u, err := url.Parse(target); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return usagef("-url %q is not an http or https URL", target)
	}
	fmt.Fprintf(c.stderr, "%s %s: %s\n", req.Method, target, describe(req, body))
	client := c.client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := codathooktest.Send(ctx, client, target, req)
	if err != nil {
		return fmt.Errorf("-url %s: %w", target, unwrapURLError(err))
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	fmt.Fprintln(c.stdout, resp.Status)
	for _, h := range shownHeaders {
		for _, v := range resp.Header.Values(h) {
			fmt.Fprintf(c.stdout, "%s: %s\n", h, v)
		}
	}
	if s := strings.TrimSpace(string(reply)); s != "" {
		fmt.Fprintln(c.stdout, s)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &failedError{resp.Status}
	}
	return nil
}

// sampleBody returns the sample for typ with the ids of f, generated now
// (a receiver pairs a new delivery with its legacy twin by that time).
func sampleBody(typ string, f sendFlags, now time.Time) ([]byte, error) {
	o := codathooktest.SampleOptions{ID: f.eventID, CompanyID: f.company, ConnectionID: f.connection,
		OperationID: f.syncID + f.pushOperationID, GeneratedDate: now.UTC().Format(time.RFC3339Nano)}
	var body []byte
	var err error
	if f.legacy {
		body, err = codathooktest.LegacySample(typ, o)
		if err != nil {
			hint := ""
			if _, e := codathooktest.Sample(typ, o); e == nil {
				hint = "; it is a new event type: drop -legacy"
			}
			return nil, usagef("no legacy rule type %q (\"codathook samples\" lists them)%s", typ, hint)
		}
	} else {
		body, err = codathooktest.Sample(typ, o)
		if err != nil {
			hint := " (any {dataType}.write.successful or .write.unsuccessful works too)"
			if _, e := codathooktest.LegacySample(typ, o); e == nil {
				hint = "; it is a legacy rule type: add -legacy"
			}
			return nil, usagef("no event type %q (\"codathook samples\" lists them)%s", typ, hint)
		}
	}
	sync, push := carriesOperation(body)
	if f.syncID != "" && !sync {
		return nil, usagef("-sync-id: %s carries no sync id (expenses.sync.* and the legacy Sync rules do)", typ)
	}
	if f.pushOperationID != "" && !push {
		return nil, usagef("-push-operation-id: %s carries no push operation key ({dataType}.write.* and the legacy Push Operation rules do)", typ)
	}
	return body, nil
}

// carriesOperation reports whether body carries a sync id or a push
// operation key.
func carriesOperation(body []byte) (sync, push bool) {
	var b struct {
		EventType string
		Payload   map[string]any
		Data      map[string]any
	}
	if json.Unmarshal(body, &b) != nil {
		return false, false
	}
	has := func(m map[string]any, k string) bool { _, ok := m[k]; return ok }
	if b.EventType != "" {
		return has(b.Payload, "syncId"), strings.Contains(b.EventType, ".write.") && has(b.Payload, "id")
	}
	return has(b.Data, "syncId"), has(b.Data, "pushOperationKey")
}

// newRequest returns the signed (new) or authorized (legacy) request.
func (c *cli) newRequest(typ string, f sendFlags, body []byte) (*http.Request, error) {
	if !validMethod(f.method) {
		return nil, usagef("-method %q is not an HTTP method", f.method)
	}
	if f.legacy {
		req := codathooktest.NewLegacyRequest("/", c.authorization(f.auth, true), body)
		req.Method = f.method
		return req, nil
	}
	secrets, err := c.secrets(f.secret, true)
	if err != nil {
		return nil, err
	}
	signer, err := codathooktest.NewSigner(secrets...)
	if err != nil {
		return nil, usagef("-secret: %v", err) // checkSecret admits only what NewSigner takes
	}
	signer.MsgID = f.messageID
	signer.Now = c.now
	if f.svix {
		signer.HeaderPrefixes = []string{"svix"}
	}
	if f.auth != "" {
		signer.Header.Set("Authorization", f.auth)
	}
	return signer.NewRequest(f.method, "/", body), nil
}

// validMethod reports whether m is an HTTP token, as httptest.NewRequest needs.
func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, c := range m {
		if c <= ' ' || c >= 0x7f || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, c) {
			return false
		}
	}
	return true
}

// describe names what a request carries, for the line send prints first.
func describe(req *http.Request, body []byte) string {
	var b struct {
		ID, EventType string
		AlertID       string `json:"AlertId"`
		RuleType      string
		CompanyID     string `json:"CompanyId"`
		Payload       struct {
			ReferenceCompany struct{ ID string } `json:"referenceCompany"`
		}
	}
	_ = json.Unmarshal(body, &b)
	parts := []string{}
	if b.EventType != "" {
		parts = append(parts, b.EventType, "event id "+b.ID)
		if b.Payload.ReferenceCompany.ID != "" {
			parts = append(parts, "company "+b.Payload.ReferenceCompany.ID)
		}
	} else {
		parts = append(parts, b.RuleType, "AlertId "+b.AlertID)
		if b.CompanyID != "" {
			parts = append(parts, "company "+b.CompanyID)
		}
	}
	for _, h := range []string{"webhook-id", "svix-id"} {
		if v := req.Header.Get(h); v != "" {
			parts = append(parts, "message id "+v)
			break
		}
	}
	return strings.Join(parts, ", ")
}

// unwrapURLError drops the *url.Error wrapping, whose text repeats the
// method and URL that the caller names already.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
