package normalize

// prescan walks the top-level keys of a JSON object, without allocating, to
// find the values that classify it, so that Parse can decode a new-format body
// in a single encoding/json pass straight into its typed event. It returns the
// format and the event type bytes (a subslice of b) when the body is new.
// ok is false whenever prescan cannot decide cheaply and exactly as the
// decoder would (escapes or non-ASCII bytes in a key or a classifying value,
// a classifying key holding a non-string, anything malformed); Parse then
// takes the general path. Parse also re-checks the decoded values against
// prescan's. Parse has refused a body that repeats a key it reads before
// prescan runs.
func prescan(b []byte) (eventType []byte, ok bool) {
	var ev, typ, alert, rule []byte
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return nil, false
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return nil, false
		}
		ks := i + 1
		ke := ks
		for ke < len(b) && b[ke] != '"' {
			if b[ke] == '\\' || b[ke] >= 0x80 {
				return nil, false
			}
			ke++
		}
		if ke >= len(b) {
			return nil, false
		}
		key := b[ks:ke]
		i = skipSpace(b, ke+1)
		if i >= len(b) || b[i] != ':' {
			return nil, false
		}
		i = skipSpace(b, i+1)
		if i >= len(b) {
			return nil, false
		}
		var slot *[]byte
		switch {
		case foldEq(key, "eventType"):
			slot = &ev
		case foldEq(key, "type"):
			slot = &typ
		case foldEq(key, "AlertId"):
			slot = &alert
		case foldEq(key, "RuleType"):
			slot = &rule
		}
		if slot != nil {
			switch b[i] {
			case '"':
				vs := i + 1
				ve := vs
				for ve < len(b) && b[ve] != '"' {
					if b[ve] == '\\' || b[ve] >= 0x80 {
						return nil, false
					}
					ve++
				}
				if ve >= len(b) {
					return nil, false
				}
				*slot = b[vs:ve]
				i = ve + 1
			case 'n': // null leaves a string unchanged, as in encoding/json
				i += 4
			default:
				return nil, false
			}
		} else {
			var good bool
			if i, good = skipValue(b, i); !good {
				return nil, false
			}
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return nil, false
		}
		if b[i] == '}' {
			break
		}
		if b[i] != ',' {
			return nil, false
		}
		i = skipSpace(b, i+1)
	}
	switch {
	case len(ev) > 0:
		return ev, true
	case len(rule) > 0 || len(alert) > 0:
		return nil, true
	}
	for _, c := range typ {
		if c == '.' {
			return typ, true
		}
	}
	return nil, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\r', '\n':
			i++
		default:
			return i
		}
	}
	return i
}

// skipValue skips one JSON value starting at b[i] (not validated: the decoder
// validates later) and returns the index after it.
func skipValue(b []byte, i int) (int, bool) {
	depth := 0
	for i < len(b) {
		switch c := b[i]; c {
		case '"':
			i++
			for i < len(b) && b[i] != '"' {
				if b[i] == '\\' {
					i++
				}
				i++
			}
			if i >= len(b) {
				return i, false
			}
			i++
		case '{', '[':
			depth++
			i++
		case '}', ']':
			if depth == 0 {
				return i, true
			}
			depth--
			i++
		case ',':
			if depth == 0 {
				return i, true
			}
			i++
		default:
			i++
		}
		if depth == 0 && i < len(b) && (b[i-1] == '"' || b[i-1] == '}' || b[i-1] == ']') {
			return i, true
		}
	}
	return i, depth == 0
}

// foldEq reports whether key equals name ignoring ASCII case.
func foldEq(key []byte, name string) bool {
	if len(key) != len(name) {
		return false
	}
	for i := range len(key) {
		a, b := key[i], name[i]
		if a|0x20 != b|0x20 {
			return false
		}
		if a|0x20 < 'a' || a|0x20 > 'z' {
			if a != b {
				return false
			}
		}
	}
	return true
}
