package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/codathook/codathook/codathooktest"
)

// maxBody bounds the files sign and verify read.
const maxBody = 16 << 20

func (c *cli) sign(_ context.Context, args []string) error {
	fs := c.newFlagSet("sign", "[flags] FILE", "Signs the body in FILE (- for standard input), byte for byte, and prints the\nsignature headers, or with -request the whole signed request (which verify reads).")
	secret := fs.String("secret", "", "whsec_ signing secret(s), space or comma separated (default $"+envSecret+", else the development secret)")
	msgID := fs.String("message-id", "", "webhook-id of the message (default a fresh msg_ id)")
	ts := fs.String("timestamp", "", "signed time: Unix seconds or RFC 3339 (default now)")
	svix := fs.Bool("svix", false, "print the svix-* header set instead of webhook-*")
	request := fs.Bool("request", false, "print the whole signed HTTP request instead of the headers")
	target := fs.String("url", defaultNewURL, "with -request: the URL the request is for")
	method := fs.String("method", http.MethodPost, "with -request: the HTTP method")
	auth := fs.String("auth", "", "also print this Authorization header (Codat's carried-over custom header)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	file, err := oneArg(pos, "FILE", " (the body to sign, or - for standard input)")
	if err != nil {
		return err
	}
	if !*request {
		for _, name := range []string{"url", "method"} {
			if flagSet(fs, name) {
				return usagef("-%s is used only with -request", name)
			}
		}
	}
	secrets, err := c.secrets(*secret, true)
	if err != nil {
		return err
	}
	at := c.now()
	if *ts != "" {
		if at, err = parseTime(*ts); err != nil {
			return usagef("-timestamp: %v", err)
		}
	}
	if *msgID == "" {
		*msgID = "msg_" + strings.ReplaceAll(codathooktest.NewID(), "-", "")
	}
	body, err := c.readInput(file, maxBody)
	if err != nil {
		return err
	}
	signer, err := codathooktest.NewSigner(secrets...)
	if err != nil {
		return usagef("-secret: %v", err)
	}
	prefix := "webhook"
	if *svix {
		prefix = "svix"
	}
	signer.HeaderPrefixes = []string{prefix}
	if *auth != "" {
		signer.Header.Set("Authorization", *auth)
	}
	h := signer.Headers(*msgID, at, body)
	if !*request {
		for _, name := range []string{prefix + "-id", prefix + "-timestamp", prefix + "-signature"} {
			fmt.Fprintf(c.stdout, "%s: %s\n", name, h.Get(name))
		}
		if *auth != "" {
			fmt.Fprintf(c.stdout, "Authorization: %s\n", *auth)
		}
		return nil
	}
	if !validMethod(*method) {
		return usagef("-method %q is not an HTTP method", *method)
	}
	u, err := url.Parse(*target)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return usagef("-url %q is not an http or https URL", *target)
	}
	req, err := http.NewRequest(*method, u.String(), bytes.NewReader(body))
	if err != nil {
		return usagef("-url %q: %v", *target, err)
	}
	req.Header = h
	req.Header.Set("Content-Length", strconv.Itoa(len(body)))
	dump, err := httputil.DumpRequest(req, true)
	if err != nil {
		return err
	}
	_, err = c.stdout.Write(dump)
	return err
}

// flagSet reports whether the flag name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}

// parseTime reads Unix seconds or an RFC 3339 time.
func parseTime(s string) (time.Time, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither Unix seconds nor an RFC 3339 time (2006-01-02T15:04:05Z)", s)
	}
	return t, nil
}
