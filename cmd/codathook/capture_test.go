package main

import (
	"bytes"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseCapture(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		in           string
		method, path string
		header       http.Header
		body         string
		note         string // a note the parser must make
	}{
		{
			name: "a DumpRequest capture with CRLF", in: "POST /webhooks/codat HTTP/1.1\r\nHost: x\r\nWebhook-Id: msg_1\r\nContent-Length: 2\r\n\r\n{}",
			method: "POST", path: "/webhooks/codat", header: http.Header{"Host": {"x"}, "Webhook-Id": {"msg_1"}, "Content-Length": {"2"}}, body: "{}",
		},
		{
			name: "headers only, LF, names in any case, values trimmed", in: "webhook-id:   msg_1 \nwebhook-signature:v1,a= v1,b=\n\n{}\n",
			header: http.Header{"Webhook-Id": {"msg_1"}, "Webhook-Signature": {"v1,a= v1,b="}}, body: "{}\n",
		},
		{
			name: "a body keeps its own CRLFs and blank lines", in: "A: 1\r\n\r\n{\r\n\r\n}",
			header: http.Header{"A": {"1"}}, body: "{\r\n\r\n}",
		},
		{
			name: "a repeated header keeps both values", in: "Svix-Signature: v1,a\r\nsvix-signature: v1,b\r\n\r\n",
			header: http.Header{"Svix-Signature": {"v1,a", "v1,b"}}, body: "",
		},
		{
			name: "a chunked body is decoded", in: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n",
			method: "POST", path: "/", header: http.Header{"Transfer-Encoding": {"chunked"}}, body: `{"a":1}`, note: "decoded the chunked body: 7 bytes",
		},
		{
			name: "bytes after the Content-Length are dropped", in: "Content-Length: 2\n\n{}\n",
			header: http.Header{"Content-Length": {"2"}}, body: "{}", note: "ignored 1 byte after the Content-Length of 2 (white space: a newline an editor added?)",
		},
		{
			name: "a body short of its Content-Length is kept", in: "Content-Length: 10\n\n{}",
			header: http.Header{"Content-Length": {"10"}}, body: "{}", note: "the body is 2 bytes, 8 short of its Content-Length of 10",
		},
		{
			name: "a first line that is not a request line is a header", in: "GET: yes\n\n",
			header: http.Header{"Get": {"yes"}}, body: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := parseCapture([]byte(tt.in))
			if err != nil {
				t.Fatalf("parseCapture: %v", err)
			}
			if c.method != tt.method || c.target != tt.path {
				t.Errorf("request line = %q %q, want %q %q", c.method, c.target, tt.method, tt.path)
			}
			if !maps.EqualFunc(c.header, tt.header, slices.Equal) {
				t.Errorf("header = %q, want %q", c.header, tt.header)
			}
			if string(c.body) != tt.body {
				t.Errorf("body = %q, want %q", c.body, tt.body)
			}
			if tt.note != "" && !slices.ContainsFunc(c.notes, func(n string) bool { return strings.Contains(n, tt.note) }) {
				t.Errorf("notes = %q, want one saying %q", c.notes, tt.note)
			}
		})
	}
}

func TestParseCaptureErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"empty", "", "no blank line after the headers"},
		{"no blank line", "A: 1\n{}", "no blank line after the headers"},
		{"a blank first line", "\n{}", "line 1 is blank"},
		{"only a request line", "POST / HTTP/1.1\r\n\r\n{}", "no headers before the blank line"},
		{"a line that is no header", "A: 1\nnot a header\n\n", `line 2, "not a header", is not a header (Name: value)`},
		{"a header name with a space", "Bad Name: 1\n\n", `line 1, "Bad Name: 1", is not a header`},
		{"a folded header", "A: 1\n  more\n\n", "line 2 continues the line before (folded header)"},
		{"a bad Content-Length", "Content-Length: ten\n\n", `Content-Length "ten" is not one number of bytes`},
		{"two Content-Lengths", "Content-Length: 1\nContent-Length: 2\n\n", `Content-Length "1, 2" is not one number of bytes`},
		{"a gzip transfer encoding", "Transfer-Encoding: gzip\n\n", `Transfer-Encoding "gzip": only chunked is supported`},
		{"a broken chunked body", "Transfer-Encoding: chunked\n\nzz\r\n", "the chunked body cannot be decoded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseCapture([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseCapture(%q) error = %v, want one saying %q", tt.in, err, tt.want)
			}
		})
	}
}

// FuzzParseCapture checks that parseCapture never panics and that what it
// accepts writes back (writeCapture) to a capture that parses to the same
// request line, headers and body. The seeds are the captures in
// testdata/captures.
func FuzzParseCapture(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "captures", "*"))
	if err != nil || len(seeds) == 0 {
		f.Fatalf("no seeds in testdata/captures: %v", err)
	}
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseCapture(data)
		if err != nil {
			return
		}
		again, err := parseCapture(writeCapture(c))
		if err != nil {
			t.Fatalf("a written capture does not parse: %v\n%q", err, writeCapture(c))
		}
		if again.method != c.method || again.target != c.target || !bytes.Equal(again.body, c.body) {
			t.Errorf("round trip: %q %q %q, want %q %q %q", again.method, again.target, again.body, c.method, c.target, c.body)
		}
		for _, h := range []http.Header{c.header, again.header} {
			h.Del("Content-Length")
			h.Del("Transfer-Encoding")
		}
		if !maps.EqualFunc(again.header, c.header, slices.Equal) {
			t.Errorf("round trip: headers %q, want %q", again.header, c.header)
		}
	})
}
