package toggle

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/open-feature/go-sdk/openfeature"
)

// flagSet is one parsed flag-definition file. It is immutable once built.
type flagSet struct {
	flags map[string]*flagDef
}

type flagDef struct {
	key            string
	disabled       bool
	variants       map[string]any
	defaultVariant string // "" with hasDefault false: code default
	hasDefault     bool
	targeting      expr // nil: none
	metadata       openfeature.FlagMetadata
	raw            []byte // compacted JSON of the definition, for change detection
}

type fileJSON struct {
	Flags    map[string]json.RawMessage `json:"flags"`
	Metadata map[string]any             `json:"metadata"`
}

type flagJSON struct {
	State          string          `json:"state"`
	Variants       map[string]any  `json:"variants"`
	DefaultVariant *string         `json:"defaultVariant"`
	Targeting      json.RawMessage `json:"targeting"`
	Metadata       map[string]any  `json:"metadata"`
}

// parseFlags parses a flagd flag-definition document.
func parseFlags(data []byte) (*flagSet, error) {
	var doc fileJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if dec.More() {
		return nil, errors.New("decode: data after the top-level object")
	}
	if doc.Flags == nil {
		return nil, errors.New(`missing "flags" object`)
	}
	fs := &flagSet{flags: make(map[string]*flagDef, len(doc.Flags))}
	for _, key := range slices.Sorted(maps.Keys(doc.Flags)) {
		def, err := parseFlag(key, doc.Flags[key], doc.Metadata)
		if err != nil {
			return nil, fmt.Errorf("flag %q: %w", key, err)
		}
		fs.flags[key] = def
	}
	return fs, nil
}

func parseFlag(key string, raw json.RawMessage, setMeta map[string]any) (*flagDef, error) {
	var fj flagJSON
	if err := json.Unmarshal(raw, &fj); err != nil {
		return nil, err
	}
	def := &flagDef{key: key, variants: fj.Variants}
	switch fj.State {
	case "ENABLED":
	case "DISABLED":
		def.disabled = true
	default:
		return nil, fmt.Errorf(`state %q: want "ENABLED" or "DISABLED"`, fj.State)
	}
	if len(fj.Variants) == 0 {
		return nil, errors.New(`no "variants"`)
	}
	if fj.DefaultVariant != nil {
		if _, ok := fj.Variants[*fj.DefaultVariant]; !ok {
			return nil, fmt.Errorf("defaultVariant %q is not a variant", *fj.DefaultVariant)
		}
		def.defaultVariant, def.hasDefault = *fj.DefaultVariant, true
	}
	t := bytes.TrimSpace(fj.Targeting)
	if len(t) > 0 && !bytes.Equal(t, []byte("{}")) && !bytes.Equal(t, []byte("null")) {
		var logic any
		if err := json.Unmarshal(t, &logic); err != nil {
			return nil, fmt.Errorf("targeting: %w", err)
		}
		e, err := compile(logic)
		if err != nil {
			return nil, fmt.Errorf("targeting: %w", err)
		}
		for _, v := range literalResults(e) {
			if _, ok := fj.Variants[v]; !ok {
				return nil, fmt.Errorf("targeting returns %q, which is not a variant", v)
			}
		}
		def.targeting = e
	}
	if len(setMeta)+len(fj.Metadata) > 0 {
		def.metadata = openfeature.FlagMetadata{}
		maps.Copy(def.metadata, setMeta)
		maps.Copy(def.metadata, fj.Metadata)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, err
	}
	def.raw = buf.Bytes()
	return def, nil
}

// changedFlags lists the keys added, removed or modified between a and b.
func changedFlags(a, b *flagSet) []string {
	var out []string
	for k, d := range b.flags {
		if o, ok := a.flags[k]; !ok || !bytes.Equal(o.raw, d.raw) {
			out = append(out, k)
		}
	}
	for k := range a.flags {
		if _, ok := b.flags[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// resolve evaluates flag against flat. ok is false when the caller's default
// applies (detail then says why).
func (fs *flagSet) resolve(flag string, flat openfeature.FlattenedContext) (value any, detail openfeature.ProviderResolutionDetail, ok bool) {
	def, found := fs.flags[flag]
	if !found {
		detail.ResolutionError = openfeature.NewFlagNotFoundResolutionError(fmt.Sprintf("flag %q not found", flag))
		detail.Reason = openfeature.ErrorReason
		return nil, detail, false
	}
	detail.FlagMetadata = def.metadata
	if def.disabled {
		detail.Reason = openfeature.DisabledReason
		return nil, detail, false
	}
	variant, reason := def.defaultVariant, openfeature.StaticReason
	if def.targeting != nil {
		switch r := def.targeting.eval(flat, flag).(type) {
		case nil:
			reason = openfeature.DefaultReason
		case string:
			variant, reason = r, openfeature.TargetingMatchReason
		case bool:
			variant, reason = strconv.FormatBool(r), openfeature.TargetingMatchReason
		default:
			detail.ResolutionError = openfeature.NewGeneralResolutionError(fmt.Sprintf("targeting returned %T, want a variant name", r))
			detail.Reason = openfeature.ErrorReason
			return nil, detail, false
		}
	}
	if variant == "" && !def.hasDefault {
		detail.Reason = openfeature.DefaultReason
		return nil, detail, false
	}
	v, found := def.variants[variant]
	if !found {
		detail.ResolutionError = openfeature.NewGeneralResolutionError(fmt.Sprintf("variant %q not found", variant))
		detail.Reason = openfeature.ErrorReason
		return nil, detail, false
	}
	detail.Variant, detail.Reason = variant, reason
	return v, detail, true
}

// ---- A small JsonLogic subset --------------------------------------------

type expr interface {
	eval(flat openfeature.FlattenedContext, flagKey string) any
}

type (
	literal  struct{ v any }
	listExpr []expr
	varExpr  struct {
		path []string
		def  expr
	}
	opExpr struct {
		op   string
		args []expr
	}
)

var supportedOps = map[string]bool{
	"if": true, "==": true, "===": true, "!=": true, "!==": true, "!": true, "!!": true,
	"and": true, "or": true, "in": true, "starts_with": true, "ends_with": true,
	"<": true, "<=": true, ">": true, ">=": true,
}

func compile(v any) (expr, error) {
	switch x := v.(type) {
	case []any:
		l := make(listExpr, len(x))
		for i, e := range x {
			c, err := compile(e)
			if err != nil {
				return nil, err
			}
			l[i] = c
		}
		return l, nil
	case map[string]any:
		if len(x) != 1 {
			return nil, fmt.Errorf("a rule must have exactly one operator, got %d keys", len(x))
		}
		for op, arg := range x {
			args, isList := arg.([]any)
			if !isList {
				args = []any{arg}
			}
			if op == "var" {
				return compileVar(args)
			}
			if !supportedOps[op] {
				return nil, fmt.Errorf("operator %q is not supported by toggle.FileProvider (supported: var, %s)", op, strings.Join(slices.Sorted(maps.Keys(supportedOps)), ", "))
			}
			e := opExpr{op: op, args: make([]expr, len(args))}
			for i, a := range args {
				c, err := compile(a)
				if err != nil {
					return nil, err
				}
				e.args[i] = c
			}
			return e, nil
		}
	}
	return literal{v}, nil
}

func compileVar(args []any) (expr, error) {
	if len(args) == 0 || len(args) > 2 {
		return nil, errors.New(`"var" takes a name and an optional default`)
	}
	var name string
	switch n := args[0].(type) {
	case string:
		name = n
	case float64:
		name = strconv.FormatFloat(n, 'f', -1, 64)
	default:
		return nil, fmt.Errorf(`"var" name must be a string, got %T`, args[0])
	}
	v := varExpr{}
	if name != "" {
		v.path = strings.Split(name, ".")
	}
	if len(args) == 2 {
		d, err := compile(args[1])
		if err != nil {
			return nil, err
		}
		v.def = d
	}
	return v, nil
}

// literalResults returns the literal strings an expression can return
// through "if" branches, to check them against the variants at load time.
func literalResults(e expr) []string {
	switch x := e.(type) {
	case literal:
		if s, ok := x.v.(string); ok {
			return []string{s}
		}
	case opExpr:
		if x.op == "if" {
			var out []string
			for i, a := range x.args {
				if i%2 == 1 || i == len(x.args)-1 {
					out = append(out, literalResults(a)...)
				}
			}
			return out
		}
	}
	return nil
}

func (l literal) eval(openfeature.FlattenedContext, string) any { return l.v }

func (l listExpr) eval(flat openfeature.FlattenedContext, key string) any {
	out := make([]any, len(l))
	for i, e := range l {
		out[i] = e.eval(flat, key)
	}
	return out
}

func (v varExpr) eval(flat openfeature.FlattenedContext, key string) any {
	if len(v.path) == 0 {
		return map[string]any(flat)
	}
	var cur any
	if v.path[0] == "$flagd" {
		cur = map[string]any{"flagKey": key}
	} else {
		var ok bool
		if cur, ok = flat[v.path[0]]; !ok {
			return v.fallback(flat, key)
		}
	}
	for _, p := range v.path[1:] {
		m, ok := cur.(map[string]any)
		if !ok {
			return v.fallback(flat, key)
		}
		if cur, ok = m[p]; !ok {
			return v.fallback(flat, key)
		}
	}
	if cur == nil {
		return v.fallback(flat, key)
	}
	return cur
}

func (v varExpr) fallback(flat openfeature.FlattenedContext, key string) any {
	if v.def == nil {
		return nil
	}
	return v.def.eval(flat, key)
}

func (o opExpr) eval(flat openfeature.FlattenedContext, key string) any {
	arg := func(i int) any {
		if i < len(o.args) {
			return o.args[i].eval(flat, key)
		}
		return nil
	}
	switch o.op {
	case "if":
		i := 0
		for ; i+1 < len(o.args); i += 2 {
			if truthy(arg(i)) {
				return arg(i + 1)
			}
		}
		if i < len(o.args) {
			return arg(i)
		}
		return nil
	case "==":
		return looseEqual(arg(0), arg(1))
	case "!=":
		return !looseEqual(arg(0), arg(1))
	case "===":
		return strictEqual(arg(0), arg(1))
	case "!==":
		return !strictEqual(arg(0), arg(1))
	case "!":
		return !truthy(arg(0))
	case "!!":
		return truthy(arg(0))
	case "and":
		var last any = true
		for i := range o.args {
			if last = arg(i); !truthy(last) {
				return last
			}
		}
		return last
	case "or":
		var last any = false
		for i := range o.args {
			if last = arg(i); truthy(last) {
				return last
			}
		}
		return last
	case "in":
		needle, hay := arg(0), arg(1)
		switch h := hay.(type) {
		case []any:
			return slices.ContainsFunc(h, func(x any) bool { return strictEqual(needle, x) })
		case string:
			n, ok := needle.(string)
			return ok && strings.Contains(h, n)
		}
		return false
	case "starts_with", "ends_with":
		s, ok1 := arg(0).(string)
		p, ok2 := arg(1).(string)
		if !ok1 || !ok2 {
			return false
		}
		if o.op == "starts_with" {
			return strings.HasPrefix(s, p)
		}
		return strings.HasSuffix(s, p)
	case "<", "<=", ">", ">=":
		a, ok1 := toNumber(arg(0))
		b, ok2 := toNumber(arg(1))
		if !ok1 || !ok2 {
			return false
		}
		switch o.op {
		case "<":
			return a < b
		case "<=":
			return a <= b
		case ">":
			return a > b
		default:
			return a >= b
		}
	}
	return nil
}

func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case float64:
		return x != 0 && !math.IsNaN(x)
	case int64:
		return x != 0
	case int:
		return x != 0
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	}
	return true
}

func toNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func strictEqual(a, b any) bool {
	if fa, ok := toNumberStrict(a); ok {
		fb, ok := toNumberStrict(b)
		return ok && fa == fb
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	}
	return false
}

func toNumberStrict(v any) (float64, bool) {
	switch v.(type) {
	case float64, int64, int:
		return toNumber(v)
	}
	return 0, false
}

func looseEqual(a, b any) bool {
	if strictEqual(a, b) {
		return true
	}
	if a == nil || b == nil {
		return false
	}
	fa, ok1 := toNumber(a)
	fb, ok2 := toNumber(b)
	return ok1 && ok2 && fa == fb
}
