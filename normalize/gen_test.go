package normalize

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/codathook/codathook/normalize/internal/gendecode"
)

// TestGeneratedDecoderIsCurrent runs the generator of decode.go's
// //go:generate line and compares its output with decode_gen.go, so that a
// type changed without go generate fails the tests.
func TestGeneratedDecoderIsCurrent(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("decode.go")
	if err != nil {
		t.Fatal(err)
	}
	const directive = "//go:generate go run ./internal/gendecode/cmd"
	var args []string
	found := false
	for line := range strings.Lines(string(src)) {
		if rest, ok := strings.CutPrefix(line, directive); ok {
			args, found = strings.Fields(rest), true
		}
	}
	if !found {
		t.Fatalf("decode.go has no %q line", directive)
	}
	cfg, err := gendecode.ParseArgs(args)
	if err != nil {
		t.Fatal(err)
	}
	path, want, err := gendecode.Run(".", cfg)
	if err != nil {
		t.Fatalf("gendecode: %v", err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: run go generate ./normalize", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		i := 0
		for i < len(gl) && i < len(wl) && gl[i] == wl[i] {
			i++
		}
		g, w := "(end of file)", "(end of file)"
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		t.Fatalf("%s is not what the generator makes of the types: run go generate ./normalize\nfirst difference, line %d:\n  have %s\n  want %s", path, i+1, g, w)
	}
}

// TestPayloadCoversNewDecoded checks that the generated payload dispatch
// (decode.go's -events) handles every kind newDecoded allocates.
func TestPayloadCoversNewDecoded(t *testing.T) {
	t.Parallel()
	for k := range kind(len(kindTypes)) {
		ev, _ := newDecoded(k)
		if ev == nil {
			continue
		}
		d := reader{s: "{}"}
		if d.payload(ev.Typed); d.fail {
			t.Errorf("payload does not decode %T: add it to -events in decode.go's //go:generate line", ev.Typed)
		}
	}
}
