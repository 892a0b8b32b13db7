package normalize

import (
	"math/bits"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// reader is a validating, single-pass JSON reader over an immutable string.
// It accepts exactly what encoding/json's scanner accepts or gives up: any
// syntax error, any value it is not sure about, sets fail, after which every
// method returns at once and the caller discards the result (Parse then takes
// the encoding/json path, which produces the error or the decoded value).
//
// Strings that need no unescaping are substrings of s: s is a private copy
// of the body made once per Parse, so they never change afterwards.
type reader struct {
	s     string
	i     int
	depth int
	fail  bool
}

// maxSkipDepth bounds the nesting of skipped values; deeper input gives up
// (encoding/json's own limit is 10000).
const maxSkipDepth = 512

// plainByte[c] is true for the bytes a string can hold that need no
// unescaping and no UTF-8 check: printable ASCII except '"' and '\\'.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func (d *reader) ws() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\r', '\n':
			d.i++
		default:
			return
		}
	}
}

// peek skips white space and returns the next byte, or 0 at the end.
func (d *reader) peek() byte {
	if d.i < len(d.s) && d.s[d.i] > ' ' {
		return d.s[d.i]
	}
	d.ws()
	if d.i < len(d.s) {
		return d.s[d.i]
	}
	return 0
}

// lit consumes the literal word (true, false, null).
func (d *reader) lit(word string) {
	if strings.HasPrefix(d.s[d.i:], word) {
		d.i += len(word)
		return
	}
	d.fail = true
}

// scanString consumes the string starting at d.s[d.i] == '"' and returns its
// content bounds. plain reports that the content is printable ASCII without
// escapes. Escapes and control characters are validated as encoding/json's
// scanner does; bytes >= 0x80 are not (the decoder replaces invalid UTF-8).
func (d *reader) scanString() (start, end int, plain bool) {
	s := d.s
	i := d.i + 1
	start = i
	plain = true
	for {
		// Skip plain bytes, eight at a time while they last.
		for i+8 <= len(s) {
			if m := specialBytes(le64(s, i)); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		for i < len(s) && plainByte[s[i]] {
			i++
		}
		if i >= len(s) {
			d.fail = true
			return start, i, false
		}
		switch c := s[i]; {
		case c == '"':
			d.i = i + 1
			return start, i, plain
		case c == '\\':
			plain = false
			if i+1 >= len(s) {
				d.fail = true
				return start, i, false
			}
			switch s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(s) || !isHex(s[i+2]) || !isHex(s[i+3]) || !isHex(s[i+4]) || !isHex(s[i+5]) {
					d.fail = true
					return start, i, false
				}
				i += 6
			default:
				d.fail = true
				return start, i, false
			}
		case c < 0x20:
			d.fail = true
			return start, i, false
		default: // >= 0x80
			plain = false
			i++
		}
	}
}

// le64 loads s[i:i+8] as a little-endian word (one load on amd64 and arm64).
func le64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// specialBytes returns a word whose lowest set bit is the high bit of the
// first byte of x (in memory order) that is not plainByte: '"', '\\', a
// control character or a byte >= 0x80; zero when all eight are plain. Bits
// above the first such byte may be spurious (borrows); bits below it never are.
func specialBytes(x uint64) uint64 {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	q := x ^ (lo * '"')
	b := x ^ (lo * '\\')
	return ((q-lo)&^q | (b-lo)&^b | (x-lo*0x20)&^x | x) & hi
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// str reads a string value; the caller has checked d.s[d.i] == '"'.
func (d *reader) str() string {
	start, end, plain := d.scanString()
	if d.fail {
		return ""
	}
	if plain {
		return d.s[start:end]
	}
	return unquote(d.s[start:end])
}

// unquote returns the content of a syntactically valid JSON string (without
// its quotes) unescaped exactly as encoding/json does: \u escapes, surrogate
// pairs, a lone or mismatched surrogate as U+FFFD, and every byte of invalid
// UTF-8 as U+FFFD. Content that needs none of that is returned as is.
func unquote(s string) string {
	r := 0
	for r < len(s) {
		c := s[r]
		if c == '\\' {
			break
		}
		if c < utf8.RuneSelf {
			r++
			continue
		}
		rr, size := utf8.DecodeRuneInString(s[r:])
		if rr == utf8.RuneError && size == 1 {
			break
		}
		r += size
	}
	if r == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2*utf8.UTFMax)
	b.WriteString(s[:r])
	for r < len(s) {
		switch c := s[r]; {
		case c == '\\':
			switch e := s[r+1]; e {
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				rr := getu4(s[r:])
				r += 6
				if utf16.IsSurrogate(rr) {
					rr1 := getu4(s[r:])
					if dec := utf16.DecodeRune(rr, rr1); dec != unicode.ReplacementChar {
						r += 6
						b.WriteRune(dec)
						continue
					}
					rr = unicode.ReplacementChar
				}
				b.WriteRune(rr)
				continue
			default: // '"', '\\', '/'
				b.WriteByte(e)
			}
			r += 2
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			r++
		default:
			rr, size := utf8.DecodeRuneInString(s[r:])
			r += size
			b.WriteRune(rr)
		}
	}
	return b.String()
}

// getu4 decodes \uXXXX at the start of s, or returns -1.
func getu4(s string) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range []byte(s[2:6]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// scanNumber consumes a JSON number and reports whether it is an integer
// (no fraction, no exponent).
func (d *reader) scanNumber() (isInt bool) {
	s, i := d.s, d.i
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		i++
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
	default:
		d.fail = true
		return false
	}
	isInt = true
	if i < len(s) && s[i] == '.' {
		isInt = false
		i++
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			d.fail = true
			return false
		}
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		isInt = false
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			d.fail = true
			return false
		}
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
	}
	d.i = i
	return isInt
}

// validNumber reports whether s is exactly one JSON number (encoding/json's
// isValidNumber).
func validNumber(s string) bool {
	d := reader{s: s}
	d.scanNumber()
	return !d.fail && d.i == len(s)
}

// skip consumes and validates one value of any type.
func (d *reader) skip() {
	switch d.peek() {
	case '"':
		d.scanString()
	case '{':
		d.i++
		if d.depth++; d.depth > maxSkipDepth {
			d.fail = true
			return
		}
		for n := 0; d.next(&n, '}'); {
			if d.peek() != '"' {
				d.fail = true
				return
			}
			d.scanString()
			d.colon()
			d.skip()
		}
		d.depth--
	case '[':
		d.i++
		if d.depth++; d.depth > maxSkipDepth {
			d.fail = true
			return
		}
		for n := 0; d.next(&n, ']'); {
			d.skip()
		}
		d.depth--
	case 't':
		d.lit("true")
	case 'f':
		d.lit("false")
	case 'n':
		d.lit("null")
	default:
		d.scanNumber()
	}
}

// next advances to the next element of an object or array whose opening
// byte has been consumed: it reports false at the closing byte (consumed)
// or on failure. *n counts the elements so far.
func (d *reader) next(n *int, closing byte) bool {
	if d.fail {
		return false
	}
	c := d.peek()
	if c == closing {
		d.i++
		return false
	}
	if *n > 0 {
		if c != ',' {
			d.fail = true
			return false
		}
		d.i++
		d.ws()
	}
	*n++
	return true
}

// colon consumes the ':' after a key and the space after it.
func (d *reader) colon() {
	if d.peek() != ':' {
		d.fail = true
		return
	}
	d.i++
	d.ws()
}
