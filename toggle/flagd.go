package toggle

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/memprovider"
)

// rule is compiled targeting: the first clause that matches selects its
// variant; none selects the defaultVariant with reason DEFAULT, as does a
// nil variant (JSON null).
type rule []clause

type clause struct {
	attr    string
	values  map[string]bool // nil: the else branch, which always matches
	variant *string
}

func (r rule) eval(f memprovider.InMemoryFlag, flat openfeature.FlattenedContext) (any, openfeature.ProviderResolutionDetail) {
	for _, c := range r {
		if s, ok := flat[c.attr].(string); c.values == nil || ok && c.values[s] {
			if c.variant != nil {
				return f.Variants[*c.variant], openfeature.ProviderResolutionDetail{Reason: openfeature.TargetingMatchReason, Variant: *c.variant}
			}
			break
		}
	}
	return f.Variants[f.DefaultVariant], openfeature.ProviderResolutionDetail{Reason: openfeature.DefaultReason, Variant: f.DefaultVariant}
}

// compileTargeting accepts {"if": [cond, result, cond, result, ..., else]}
// where cond is {"in": [{"var": NAME}, [STRING, ...]]} or
// {"==": [{"var": NAME}, STRING]} and a result is a variant name or null.
func compileTargeting(logic any, variants map[string]any) (memprovider.ContextEvaluator, error) {
	if m, ok := logic.(map[string]any); logic == nil || ok && len(m) == 0 {
		return nil, nil
	}
	op, args, err := operator(logic)
	if err != nil {
		return nil, err
	}
	if op != "if" || len(args) < 2 {
		return nil, fmt.Errorf(`want {"if": [condition, result, ...]}, got %s`, js(logic))
	}
	var r rule
	for i := 0; i < len(args) && err == nil; i += 2 {
		c := clause{}
		if i+1 < len(args) {
			c, err = condition(args[i])
		}
		if err == nil {
			c.variant, err = result(args[min(i+1, len(args)-1)], variants)
		}
		r = append(r, c)
	}
	if err != nil {
		return nil, err
	}
	fn := r.eval
	return &fn, nil
}

// operator splits a rule {"op": args} and checks op is in the subset.
func operator(v any) (op string, args []any, err error) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return "", nil, fmt.Errorf("a rule must be an object with exactly one operator, got %s", js(v))
	}
	for op = range m {
	}
	if !slices.Contains([]string{"if", "in", "==", "var"}, op) {
		return "", nil, fmt.Errorf("operator %q is not supported by toggle.NewFileProvider (supported: if, in, ==, var)", op)
	}
	if args, ok = m[op].([]any); !ok {
		args = []any{m[op]}
	}
	return op, args, nil
}

func condition(v any) (clause, error) {
	op, args, err := operator(v)
	if err != nil {
		return clause{}, err
	}
	c := clause{values: map[string]bool{}}
	var list []any
	if len(args) == 2 {
		if vop, vargs, _ := operator(args[0]); vop == "var" && len(vargs) == 1 {
			c.attr, _ = vargs[0].(string)
		}
		if list, _ = args[1].([]any); op == "==" {
			list = args[1:]
		}
	}
	for _, item := range list {
		s, ok := item.(string)
		if !ok {
			c.attr = "" // rejected below
		}
		c.values[s] = true
	}
	if (op != "in" && op != "==") || c.attr == "" || strings.Contains(c.attr, ".") {
		return clause{}, fmt.Errorf(`condition %s: want {"in": [{"var": NAME}, [STRING, ...]]} or {"==": [{"var": NAME}, STRING]}`, js(v))
	}
	return c, nil
}

func result(v any, variants map[string]any) (*string, error) {
	switch s := v.(type) {
	case nil:
		return nil, nil
	case string:
		if _, ok := variants[s]; ok {
			return &s, nil
		}
		return nil, fmt.Errorf("targeting returns %q, which is not a variant", s)
	}
	return nil, fmt.Errorf("a result must be a variant name or null, got %s", js(v))
}

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
