package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"slices"
	"strconv"
	"strings"
)

// capture is a captured delivery, as parseCapture reads it.
type capture struct {
	method, target string // from the request line; "" when the file has none
	header         http.Header
	body           []byte
	notes          []string // what the parser noticed about the capture
}

// parseCapture reads a captured delivery: an optional request line
// ("POST /webhooks/codat HTTP/1.1"), header lines ("Name: value"), a blank
// line, and the body, byte for byte. Lines before the body may end in CRLF
// or LF. A chunked body (Transfer-Encoding: chunked) is decoded; with a
// Content-Length the body ends there, and bytes after it, or a body
// shorter than it, are noted. It is what httputil.DumpRequest writes for
// an incoming request.
func parseCapture(data []byte) (*capture, error) {
	c := &capture{header: http.Header{}}
	rest, lineNo, headers := data, 0, 0
	for {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			return nil, errors.New("no blank line after the headers: a capture is headers, a blank line, then the body")
		}
		line := string(bytes.TrimSuffix(rest[:i], []byte{'\r'}))
		rest = rest[i+1:]
		lineNo++
		if line == "" {
			if lineNo == 1 {
				return nil, errors.New("line 1 is blank: a capture starts with its request line or its first header")
			}
			break
		}
		if lineNo == 1 {
			if m, t, ok := requestLine(line); ok {
				c.method, c.target = m, t
				continue
			}
		}
		if line[0] == ' ' || line[0] == '\t' {
			return nil, fmt.Errorf("line %d continues the line before (folded header): put each header on one line", lineNo)
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || !validHeaderName(name) {
			return nil, fmt.Errorf("line %d, %q, is not a header (Name: value)", lineNo, clip(line, 60))
		}
		c.header.Add(name, strings.Trim(value, " \t"))
		headers++
	}
	if headers == 0 {
		return nil, errors.New("no headers before the blank line")
	}
	body := rest
	if te := c.header.Values("Transfer-Encoding"); len(te) > 0 {
		if !slices.Equal(te, []string{"chunked"}) {
			return nil, fmt.Errorf("Transfer-Encoding %q: only chunked is supported", strings.Join(te, ", "))
		}
		decoded, err := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(body)))
		if err != nil {
			return nil, fmt.Errorf("the chunked body cannot be decoded: %v", err)
		}
		c.notes = append(c.notes, "decoded the chunked body: "+plural(int64(len(decoded)), "byte"))
		c.body = decoded
		return c, nil
	}
	if cls := c.header.Values("Content-Length"); len(cls) > 0 {
		n, err := strconv.ParseInt(cls[0], 10, 64)
		if err != nil || n < 0 || len(cls) > 1 && !allEqual(cls) {
			return nil, fmt.Errorf("Content-Length %q is not one number of bytes", strings.Join(cls, ", "))
		}
		switch extra := int64(len(body)) - n; {
		case extra > 0:
			why := "was the body edited?"
			if len(bytes.TrimSpace(body[n:])) == 0 {
				why = "white space: a newline an editor added?"
			}
			c.notes = append(c.notes, fmt.Sprintf("ignored %s after the Content-Length of %d (%s)", plural(extra, "byte"), n, why))
			body = body[:n]
		case extra < 0:
			c.notes = append(c.notes, fmt.Sprintf("the body is %s, %d short of its Content-Length of %d: the capture is cut off or was edited", plural(int64(len(body)), "byte"), -extra, n))
		}
	}
	c.body = body
	return c, nil
}

// requestLine splits "METHOD TARGET HTTP/x.y".
func requestLine(line string) (method, target string, ok bool) {
	parts := strings.Split(line, " ")
	if len(parts) != 3 || !strings.HasPrefix(parts[2], "HTTP/") || !validMethod(parts[0]) || parts[1] == "" {
		return "", "", false
	}
	return parts[0], parts[1], true
}

// validHeaderName reports whether s is an HTTP token.
func validHeaderName(s string) bool {
	return validMethod(s) // the same token rule
}

func allEqual(vs []string) bool {
	for _, v := range vs {
		if v != vs[0] {
			return false
		}
	}
	return true
}

// clip shortens s to at most n bytes for an error message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// writeCapture writes c in the format parseCapture reads, with the body's
// own Content-Length (and no Transfer-Encoding).
func writeCapture(c *capture) []byte {
	var b bytes.Buffer
	if c.method != "" {
		fmt.Fprintf(&b, "%s %s HTTP/1.1\r\n", c.method, c.target)
	}
	h := c.header.Clone()
	h.Del("Transfer-Encoding")
	h.Set("Content-Length", strconv.Itoa(len(c.body)))
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range h[k] {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	b.Write(c.body)
	return b.Bytes()
}

// plural returns "1 byte", "2 bytes".
func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.FormatInt(n, 10) + " " + unit + "s"
}
