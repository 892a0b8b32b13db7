package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/normalize"
)

// verifyFlags are the flags of verify.
type verifyFlags struct {
	secret, auth, at string
	legacy           bool
	tolerance        time.Duration
}

func (c *cli) verify(_ context.Context, args []string) error {
	fs := c.newFlagSet("verify", "[flags] FILE", "Verifies a captured delivery in FILE (- for standard input): the HTTP request as\nhttputil.DumpRequest writes it, or its headers, a blank line and its body. It serves\nthe delivery to a codathook receiver configured with these flags, prints its answer,\nand says why a delivery is refused: missing headers, the timestamp's distance from the\nclock, which secret signed it or that none did, a body changed after signing.")
	var f verifyFlags
	fs.StringVar(&f.secret, "secret", "", "whsec_ signing secret(s) of the endpoint, space or comma separated (default $"+envSecret+")")
	fs.StringVar(&f.auth, "auth", "", "accepted Authorization value: required on the legacy endpoint, checked on the new one when given (default with -legacy: $"+envAuth+")")
	fs.BoolVar(&f.legacy, "legacy", false, "verify as the legacy endpoint would (Authorization header; signature for a new-format body)")
	fs.DurationVar(&f.tolerance, "tolerance", 5*time.Minute, "how far the signature timestamp may be from the clock, either way")
	fs.StringVar(&f.at, "at", "", "the receiver's clock: Unix seconds or RFC 3339 (default now)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	file, err := oneArg(pos, "FILE", " (the captured delivery, or - for standard input)")
	if err != nil {
		return err
	}
	if f.tolerance <= 0 {
		return usagef("-tolerance must be positive, got %v", f.tolerance)
	}
	at := c.now()
	if f.at != "" {
		if at, err = parseTime(f.at); err != nil {
			return usagef("-at: %v", err)
		}
	}
	var secrets []string
	if !f.legacy || f.secret != "" || c.getenv(envSecret) != "" {
		if secrets, err = c.secrets(f.secret, false); err != nil {
			return err
		}
	}
	auth := f.auth
	if f.legacy {
		if auth = c.authorization(f.auth, false); auth == "" {
			return usagef("-legacy needs -auth (or $%s): the Authorization value the legacy endpoint accepts", envAuth)
		}
	}
	data, err := c.readInput(file, maxBody)
	if err != nil {
		return err
	}
	cp, err := parseCapture(data)
	if err != nil {
		return usagef("%s: %v", file, err)
	}
	ep := codathook.EndpointNew
	if f.legacy {
		ep = codathook.EndpointLegacy
	}
	o, status, err := serveCapture(cp, ep, secrets, auth, f.tolerance, at)
	if err != nil {
		return err
	}
	accepted := status >= 200 && status <= 299
	verdict := "verified"
	if !accepted {
		verdict = "NOT VERIFIED"
	}
	fmt.Fprintf(c.stdout, "%s: the %s endpoint answers %d %s", verdict, ep, status, o.Result)
	if o.Err != nil && !accepted {
		fmt.Fprintf(c.stdout, " (%v)", o.Err)
	}
	fmt.Fprintln(c.stdout)
	d := diagnosis{h: cp.header, body: cp.body, secrets: secrets, auth: auth, tolerance: f.tolerance, at: at}
	for _, n := range cp.notes {
		d.add("capture: %s", n)
	}
	d.run(ep)
	for _, l := range d.lines {
		fmt.Fprintf(c.stdout, "- %s\n", l)
	}
	if !accepted {
		return &failedError{verdict}
	}
	return nil
}

// serveCapture serves cp to a receiver with the given secrets, accepted
// Authorization value (for ep), tolerance and clock, and returns the
// receiver's outcome and status. Events are acknowledged without a
// callback.
func serveCapture(cp *capture, ep codathook.Endpoint, secrets []string, auth string, tolerance time.Duration, at time.Time) (codathook.Outcome, int, error) {
	var got codathook.Outcome
	opts := []codathook.Option{
		codathook.WithTolerance(tolerance),
		codathook.WithClock(func() time.Time { return at }),
		codathook.WithLogger(slog.New(slog.DiscardHandler)),
		codathook.WithObserver(func(_ context.Context, o codathook.Outcome) { got = o }),
		codathook.WithFallback(func(context.Context, *normalize.Event) error { return nil }),
	}
	if len(secrets) > 0 {
		opts = append(opts, codathook.WithSecrets(secrets...))
	}
	switch {
	case ep == codathook.EndpointLegacy:
		opts = append(opts, codathook.WithLegacyAuthorization(auth))
	case auth != "":
		opts = append(opts, codathook.WithNewAuthorization(auth))
	}
	rcv, err := codathook.New(opts...)
	if err != nil {
		return got, 0, fmt.Errorf("configuring the receiver: %w", err)
	}
	defer rcv.Close(context.Background())
	method := cp.method
	if method == "" {
		method = http.MethodPost
	}
	req := httptest.NewRequest(method, "/", bytes.NewReader(cp.body))
	req.Header = cp.header.Clone()
	req.Header.Del("Content-Length")
	req.Header.Del("Transfer-Encoding")
	if host := req.Header.Get("Host"); host != "" {
		req.Host = host
	}
	rec := httptest.NewRecorder()
	rcv.Handler(ep).ServeHTTP(rec, req)
	return got, rec.Code, nil
}

// describeAuth shows an Authorization value without giving it away: its
// scheme and length.
func describeAuth(v string) string {
	scheme, _, found := strings.Cut(v, " ")
	if !found {
		return fmt.Sprintf("a %d-character value with no scheme", len(v))
	}
	return fmt.Sprintf("%s and %d characters", scheme, len(v)-len(scheme)-1)
}
