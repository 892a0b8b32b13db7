package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
)

// diagnosis explains a captured delivery's headers, independently of the
// receiver's answer, in lines for verify to print.
type diagnosis struct {
	h         http.Header
	body      []byte
	secrets   []string
	auth      string
	tolerance time.Duration
	at        time.Time
	lines     []string
}

func (d *diagnosis) add(format string, args ...any) {
	d.lines = append(d.lines, fmt.Sprintf(format, args...))
}

// headerSet is one of the two signature header sets.
type headerSet struct {
	prefix            string
	id, ts, signature string
}

// run adds what it finds for a delivery to ep.
func (d *diagnosis) run(ep codathook.Endpoint) {
	if d.auth != "" {
		d.authorization(ep)
	}
	if ep == codathook.EndpointLegacy && !bytes.Contains(d.body, []byte(`"eventType"`)) {
		return // a legacy rule body: its Authorization is all there is
	}
	if ep == codathook.EndpointLegacy {
		d.add("body: a new-format body (eventType): on the legacy endpoint it must be signed as on the new one")
		if len(d.secrets) == 0 {
			d.add("signature: not checked: give -secret")
			return
		}
	}
	var complete []headerSet
	present := 0
	for _, prefix := range []string{"webhook", "svix"} {
		s := headerSet{prefix, d.h.Get(prefix + "-id"), d.h.Get(prefix + "-timestamp"), d.h.Get(prefix + "-signature")}
		var missing []string
		for _, v := range []struct{ name, value string }{{"-id", s.id}, {"-timestamp", s.ts}, {"-signature", s.signature}} {
			if v.value == "" {
				missing = append(missing, prefix+v.name)
			}
		}
		switch len(missing) {
		case 3:
			continue
		case 0:
			complete = append(complete, s)
		default:
			d.add("%s-* headers: incomplete, no %s", prefix, strings.Join(missing, " or "))
		}
		present++
	}
	switch {
	case present == 0:
		d.add("signature headers: none. A signed delivery carries webhook-id, webhook-timestamp and webhook-signature (or the three svix-* headers)")
		if d.h.Get("Authorization") != "" && ep == codathook.EndpointNew {
			d.add("it has an Authorization header and no signature: a legacy delivery? Verify it with -legacy")
		}
		return
	case len(complete) == 0:
		d.add("signature headers: no complete set; a receiver takes the three headers of one set, never a mix of webhook-* and svix-*")
		return
	}
	for _, s := range complete {
		d.headerSet(s)
	}
}

// authorization compares the Authorization header with -auth.
func (d *diagnosis) authorization(ep codathook.Endpoint) {
	got := d.h.Get("Authorization")
	switch {
	case got == "":
		d.add("Authorization: missing; the %s endpoint expects %s", ep, describeAuth(d.auth))
	case got != d.auth:
		d.add("Authorization: differs from -auth: the delivery has %s, -auth is %s", describeAuth(got), describeAuth(d.auth))
	default:
		d.add("Authorization: matches -auth")
	}
}

// headerSet checks the timestamp and signature of one complete set.
func (d *diagnosis) headerSet(s headerSet) {
	unix, err := strconv.ParseInt(s.ts, 10, 64)
	if err != nil {
		d.add("%s-timestamp: %q is not a Unix time in seconds; the signature cannot be checked", s.prefix, s.ts)
		return
	}
	sent := time.Unix(unix, 0).UTC()
	d.add("%s-* headers: %s-id %s, %s-timestamp %s (%s)", s.prefix, s.prefix, s.id, s.prefix, s.ts, sent.Format(time.RFC3339))
	if unix > 1e11 {
		d.add("%s-timestamp: looks like milliseconds; Codat sends seconds", s.prefix)
	}
	d.timestamp(sent)
	if s.ts != strconv.FormatInt(unix, 10) {
		d.add("%s-timestamp: %q is not written as Codat writes it (no sign or leading zeros); the signature is not checked here", s.prefix, s.ts)
		return
	}
	var v1 []string
	var others []string
	for _, e := range strings.Fields(s.signature) {
		if version, sig, ok := strings.Cut(e, ","); ok && version == "v1" && sig != "" {
			v1 = append(v1, e)
		} else {
			others = append(others, clip(e, 12))
		}
	}
	if len(v1) == 0 {
		d.add("%s-signature: no v1,<base64> entry (it holds %q)", s.prefix, others)
		return
	}
	if i := d.match(s.id, sent, d.body, v1); i >= 0 {
		d.add("signature: matches secret %d (%s)", i+1, mask(d.secrets[i]))
		return
	}
	for _, v := range bodyVariants(d.body) {
		if i := d.match(s.id, sent, v.body, v1); i >= 0 {
			d.add("signature: matches secret %d (%s) over the body %s: the body was changed after it was signed", i+1, mask(d.secrets[i]), v.change)
			return
		}
	}
	tried := make([]string, len(d.secrets))
	for i, sec := range d.secrets {
		tried[i] = mask(sec)
	}
	which := "the v1 signature matches"
	if len(v1) > 1 {
		which = fmt.Sprintf("none of the %d v1 signatures matches", len(v1))
	}
	d.add("signature: %s no secret given (tried %s): it was signed with another secret (each endpoint in Codat's Portal has its own; during a rotation give the old and the new one), or its id, timestamp or body changed after signing",
		which, strings.Join(tried, ", "))
}

// timestamp says how far sent is from the receiver's clock.
func (d *diagnosis) timestamp(sent time.Time) {
	delta := d.at.Sub(sent)
	dir, abs := "before", delta
	if delta < 0 {
		dir, abs = "after", -delta
	}
	abs = abs.Round(time.Second)
	if abs <= d.tolerance {
		d.add("timestamp: %v %s the receiver's clock, within the %v tolerance", abs, dir, d.tolerance)
		return
	}
	d.add("timestamp: %v %s the receiver's clock (%s): %v outside the %v tolerance; -at %s checks it as of its own time",
		span(abs), dir, d.at.UTC().Format(time.RFC3339), span(abs-d.tolerance), d.tolerance, sent.Format(time.RFC3339))
}

// span writes a duration for people: days past two days, else as
// time.Duration does.
func span(d time.Duration) string {
	if d < 48*time.Hour {
		return d.String()
	}
	days := d / (24 * time.Hour)
	return fmt.Sprintf("%d days %v", days, (d - days*24*time.Hour).Truncate(time.Minute))
}

// match returns the index of the secret whose signature of (id, sent,
// body) is among v1, or -1.
func (d *diagnosis) match(id string, sent time.Time, body []byte, v1 []string) int {
	for i, sec := range d.secrets {
		want := codathooktest.MustSigner(sec).Headers(id, sent, body).Get("webhook-signature")
		for _, e := range v1 {
			if e == want {
				return i
			}
		}
	}
	return -1
}

// bodyVariant is a body as it may have been before a common change.
type bodyVariant struct {
	change string
	body   []byte
}

// bodyVariants returns the body undone of the changes that editors,
// terminals and loggers often make.
func bodyVariants(body []byte) []bodyVariant {
	var out []bodyVariant
	if t := bytes.TrimRight(body, "\r\n"); len(t) < len(body) {
		out = append(out, bodyVariant{"without its trailing newline", t})
	}
	if bytes.Contains(body, []byte("\r\n")) {
		out = append(out, bodyVariant{"with LF line endings instead of CRLF", bytes.ReplaceAll(body, []byte("\r\n"), []byte("\n"))})
	}
	var compact bytes.Buffer
	if json.Compact(&compact, body) == nil && !bytes.Equal(compact.Bytes(), body) {
		out = append(out, bodyVariant{"as compact JSON (it was re-indented)", compact.Bytes()})
	}
	out = append(out, bodyVariant{"with a trailing newline", append(bytes.Clone(body), '\n')})
	return out
}
