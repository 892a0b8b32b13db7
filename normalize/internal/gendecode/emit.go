package gendecode

// The generated code: one decoding method per struct, one per slice of a
// struct, and the statement that decodes each field kind.

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

func (g *generator) decodeField(out *bytes.Buffer, f field) {
	switch f.kind {
	case kString:
		fmt.Fprintf(out, "\t\td.setStr(&p.%s)\n", f.goName)
	case kBool:
		fmt.Fprintf(out, "\t\td.setBool(&p.%s)\n", f.goName)
	case kInt:
		fmt.Fprintf(out, "\t\td.setInt(&p.%s)\n", f.goName)
	case kNumber:
		fmt.Fprintf(out, "\t\td.setNumber((*string)(&p.%s))\n", f.goName)
	case kRaw:
		fmt.Fprintf(out, "\t\tp.%s = d.raw()\n", f.goName)
	case kStrings:
		fmt.Fprintf(out, "\t\td.strings(&p.%s)\n", f.goName)
	case kStrMap:
		fmt.Fprintf(out, "\t\td.strMap(&p.%s)\n", f.goName)
	case kStruct:
		fmt.Fprintf(out, "\t\td.dec%s(&p.%s)\n", f.elem, f.goName)
	case kPtr:
		fmt.Fprintf(out, "\t\tif d.peek() == 'n' {\n\t\t\td.lit(\"null\")\n\t\t} else {\n\t\t\tp.%s = new(%s)\n\t\t\td.dec%s(p.%s)\n\t\t}\n", f.goName, f.elem, f.elem, f.goName)
	case kSlice:
		fmt.Fprintf(out, "\t\td.dec%sSlice(&p.%s)\n", f.elem, f.goName)
	}
}

func (g *generator) decodeStruct(out *bytes.Buffer, s string) {
	fmt.Fprintf(out, "// dec%s decodes an object into *p; null leaves it unchanged.\n", s)
	fmt.Fprintf(out, "func (d *reader) dec%s(p *%s) {\n", s, s)
	fmt.Fprintf(out, "\tif !d.object() {\n\t\treturn\n\t}\n\tvar seen uint32\n\tfor n := 0; ; {\n")
	fmt.Fprintf(out, "\t\tkey, more := d.key(&n)\n\t\tif !more {\n\t\t\treturn\n\t\t}\n")
	fmt.Fprintf(out, "\t\tswitch d.field(key, %sFields, &seen) {\n", lower(s))
	for i, f := range g.fields[s] {
		fmt.Fprintf(out, "\t\tcase %d: // %s\n", i, f.name)
		var b bytes.Buffer
		g.decodeField(&b, f)
		for _, line := range strings.SplitAfter(b.String(), "\n") {
			if line != "" {
				out.WriteString("\t" + line)
			}
		}
	}
	out.WriteString("\t\tdefault:\n\t\t\td.skip()\n\t\t}\n\t}\n}\n\n")
}

func (g *generator) decodeSlice(out *bytes.Buffer, s string) {
	fmt.Fprintf(out, `// dec%[1]sSlice decodes an array into *p; null leaves it unchanged and []
// gives a non-nil empty slice, as encoding/json does. Up to 16 elements are
// decoded into a stack buffer first so that the slice is allocated once, at
// its final length.
func (d *reader) dec%[1]sSlice(p *[]%[1]s) {
	if !d.array() {
		return
	}
	if d.peek() == ']' {
		d.i++
		*p = []%[1]s{}
		return
	}
	var buf [16]%[1]s
	var out []%[1]s
	n := 0
	for d.next(&n, ']') {
		if n <= len(buf) {
			d.dec%[1]s(&buf[n-1])
			continue
		}
		if out == nil {
			out = make([]%[1]s, len(buf), 2*len(buf))
			copy(out, buf[:])
		}
		out = append(out, %[1]s{})
		d.dec%[1]s(&out[len(out)-1])
	}
	if d.fail {
		return
	}
	if out == nil {
		out = make([]%[1]s, n)
		copy(out, buf[:n])
	}
	*p = out
}

`, s)
}

func nameList(fs []field) string {
	q := make([]string, len(fs))
	for i, f := range fs {
		q[i] = strconv.Quote(f.name)
	}
	return "[]string{" + strings.Join(q, ", ") + "}"
}

func lower(s string) string { return strings.ToLower(s[:1]) + s[1:] }
