package normalize

import "math/bits"

// The reader's methods that decode into Go values: object keys matched to
// struct fields, and the setters of the field types the generated decoder
// (decode_gen.go) fills. The scanning they build on is in jsonread.go.

// key reads the next key of an object being decoded into a struct and the
// colon after it. ok is false at the end of the object or on failure. A key
// with escapes or non-ASCII bytes gives up: encoding/json folds such keys
// with Unicode rules (U+017F matches 's'), which this reader does not copy.
func (d *reader) key(n *int) (key string, ok bool) {
	if !d.next(n, '}') {
		return "", false
	}
	if d.i >= len(d.s) || d.s[d.i] != '"' {
		d.fail = true
		return "", false
	}
	start, end, plain := d.scanString()
	if !plain {
		d.fail = true
		return "", false
	}
	d.colon()
	return d.s[start:end], !d.fail
}

// object consumes the '{' of an object and reports true, or consumes null
// and reports false (null leaves a struct, pointer, map or slice that was
// never set at its zero value), or fails.
func (d *reader) object() bool {
	switch d.peek() {
	case '{':
		d.i++
		return true
	case 'n':
		d.lit("null")
		return false
	}
	d.fail = true
	return false
}

// array is object for '['.
func (d *reader) array() bool {
	switch d.peek() {
	case '[':
		d.i++
		return true
	case 'n':
		d.lit("null")
		return false
	}
	d.fail = true
	return false
}

// field returns the index of key in names (ASCII letters only), matched
// ignoring ASCII case as encoding/json does, or -1. It fails on a
// second occurrence of a field in the same object (seen tracks them):
// encoding/json merges repeated objects and arrays in ways not worth copying.
func (d *reader) field(key string, names []string, seen *uint32) int {
	// Bodies usually list fields in declaration order: try the first
	// field not seen yet before the others.
	if f := bits.TrailingZeros32(^*seen); f < len(names) && (key == names[f] || len(names[f]) == len(key) && eqFoldLetters(key, names[f])) {
		*seen |= 1 << f
		return f
	}
	for f, name := range names {
		if len(name) == len(key) && eqFoldLetters(key, name) {
			if *seen&(1<<f) != 0 {
				d.fail = true
				return -1
			}
			*seen |= 1 << f
			return f
		}
	}
	return -1
}

// eqFoldLetters reports whether key equals name, of the same length and
// holding ASCII letters only, ignoring ASCII case. Only 'A'-'Z' and 'a'-'z'
// map to a lower-case letter under |0x20, so this is exact case-folding for
// such names.
func eqFoldLetters(key, name string) bool {
	for i := 0; i < len(name); i++ {
		if key[i]|0x20 != name[i]|0x20 {
			return false
		}
	}
	return true
}

// setStr decodes a string or null (which leaves *p unchanged).
func (d *reader) setStr(p *string) {
	switch d.peek() {
	case '"':
		*p = d.str()
	case 'n':
		d.lit("null")
	default:
		d.fail = true
	}
}

// setBool decodes true, false or null.
func (d *reader) setBool(p *bool) {
	switch d.peek() {
	case 't':
		d.lit("true")
		*p = true
	case 'f':
		d.lit("false")
		*p = false
	case 'n':
		d.lit("null")
	default:
		d.fail = true
	}
}

// setInt decodes an integer that fits in an int, or null. Fractions,
// exponents and overflow give up (encoding/json reports a type error).
func (d *reader) setInt(p *int) {
	switch c := d.peek(); {
	case c == 'n':
		d.lit("null")
		return
	case c == '-' || '0' <= c && c <= '9':
	default:
		d.fail = true
		return
	}
	start := d.i
	if !d.scanNumber() {
		d.fail = true
		return
	}
	s := d.s[start:d.i]
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	// At most 18 digits cannot overflow int64; longer numbers give up so
	// that 32-bit and 64-bit ints need no special handling.
	if len(s) > 18 || (len(s) > 9 && intSize == 32) {
		d.fail = true
		return
	}
	var n int
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	if neg {
		n = -n
	}
	*p = n
}

const intSize = 32 << (^uint(0) >> 63)

// setNumber decodes a json.Number-like string field: a number as written, a
// string holding a valid number, or null.
func (d *reader) setNumber(p *string) {
	switch c := d.peek(); {
	case c == 'n':
		d.lit("null")
	case c == '"':
		s := d.str()
		if !validNumber(s) {
			d.fail = true
			return
		}
		*p = s
	case c == '-' || '0' <= c && c <= '9':
		start := d.i
		d.scanNumber()
		*p = d.s[start:d.i]
	default:
		d.fail = true
	}
}

// raw returns the bytes of the next value as written (for json.RawMessage),
// copied: null gives "null", as encoding/json does.
func (d *reader) raw() []byte {
	d.ws()
	start := d.i
	d.skip()
	if d.fail {
		return nil
	}
	return []byte(d.s[start:d.i])
}

// strings decodes an array of strings (null elements stay "").
func (d *reader) strings(p *[]string) {
	if !d.array() {
		return
	}
	out := []string{}
	for n := 0; d.next(&n, ']'); {
		var s string
		d.setStr(&s)
		out = append(out, s)
	}
	*p = out
}

// strMap decodes an object of strings into a map (a null value gives "").
func (d *reader) strMap(p *map[string]string) {
	if !d.object() {
		return
	}
	m := map[string]string{}
	for n := 0; d.next(&n, '}'); {
		if d.i >= len(d.s) || d.s[d.i] != '"' {
			d.fail = true
			return
		}
		k := d.str()
		d.colon()
		var v string
		d.setStr(&v)
		if d.fail {
			return
		}
		m[k] = v
	}
	*p = m
}
