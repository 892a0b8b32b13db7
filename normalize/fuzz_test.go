package normalize_test

import (
	"errors"
	"os"
	"reflect"
	"testing"

	"github.com/codathook/codathook/normalize"
)

// addSeeds seeds f with every fixture in testdata/{legacy,new,unknown}.
func addSeeds(f *testing.F) {
	f.Helper()
	for _, files := range fixtures(f) {
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	for _, s := range []string{``, `null`, `[]`, `{"eventType":5}`, `{"type":"a.b"}`, `{"Type":"x"}`, `{"AlertId":"a","Data":"x"}`} {
		f.Add([]byte(s))
	}
}

func FuzzClassify(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		format, err := normalize.Classify(body)
		if err != nil {
			if !errors.As(err, new(*normalize.MalformedError)) {
				t.Fatalf("Classify() error = %T %v, want *MalformedError", err, err)
			}
			if _, perr := normalize.Parse(body); perr == nil {
				t.Fatalf("Classify() failed with %v but Parse() succeeded", err)
			}
			return
		}
		switch format {
		case normalize.FormatNew, normalize.FormatLegacy, normalize.FormatUnknown:
		default:
			t.Fatalf("Classify() = %q, want new, legacy or unknown", format)
		}
		if ev, perr := normalize.Parse(body); perr == nil && ev.Format != format {
			t.Fatalf("Parse().Format = %q, Classify() = %q", ev.Format, format)
		}
	})
}

func FuzzNormalize(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := normalize.Parse(body)
		if err != nil {
			var me *normalize.MalformedError
			if !errors.As(err, &me) {
				t.Fatalf("Parse() error = %T %v, want *MalformedError", err, err)
			}
			if ev != nil {
				t.Fatalf("Parse() returned an event with an error")
			}
			_ = me.Error()
			return
		}
		switch ev.Format {
		case normalize.FormatNew:
			if ev.Legacy != nil {
				t.Fatalf("new event with Legacy set")
			}
		case normalize.FormatLegacy:
			if ev.Legacy == nil {
				t.Fatalf("legacy event without Legacy")
			}
			if ev.Typed == nil {
				t.Fatalf("legacy event %q without Typed (unknown rules must be UnknownLegacyRule)", ev.Type)
			}
		case normalize.FormatUnknown:
			if ev.Type != "" || ev.Typed != nil || ev.Legacy != nil {
				t.Fatalf("unknown body with Type %q, Typed %T, Legacy %v", ev.Type, ev.Typed, ev.Legacy)
			}
		default:
			t.Fatalf("Format = %q", ev.Format)
		}
		if ev.Typed != nil {
			want, ok := normalize.GoType(ev.Type)
			if !ok {
				t.Fatalf("Typed = %T for type %q that GoType does not know", ev.Typed, ev.Type)
			}
			if got := typeOf(ev.Typed); got != want.String() {
				t.Fatalf("Typed = %s, GoType(%q) = %s", got, ev.Type, want)
			}
		}
		for _, o := range ev.Occurrences() {
			if o.Type != ev.Type {
				t.Fatalf("Occurrence.Type = %q, Event.Type = %q", o.Type, ev.Type)
			}
		}
	})
}

func typeOf(v any) string { return reflect.TypeOf(v).String() }
