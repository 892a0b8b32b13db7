package bench

import (
	"fmt"
	"strconv"

	"github.com/codathook/codathook/toggle"
	"github.com/open-feature/go-sdk/openfeature/memprovider"
)

// Flags selects how a pipeline evaluates its endpoint flags.
type Flags int

// The flag variants of the pipeline. Each uses OpenFeature's in-memory
// provider on an isolated API with both endpoint flags on (no targeting, so
// the provider resolves them as STATIC).
const (
	FlagsDefault  Flags = iota // WithFlags(client, nil): toggle's defaults (50 ms timeout: a goroutine per evaluation) plus the receiver's default decision cache (10,000 entries)
	FlagsInline                // &toggle.Config{Timeout: -1}: evaluate every delivery on the caller's goroutine, no cache
	FlagsCached                // &toggle.Config{Timeout: -1, CacheSize: 4096}: inline, with a decision cache
	FlagsUncached              // &toggle.Config{}: 50 ms timeout, no cache (WithFlags(client, nil) before the receiver cached by default)
	FlagsNone                  // no WithFlags: both endpoints always process (not the full pipeline; for reference)
)

// AllFlags lists every flag variant.
var AllFlags = []Flags{FlagsDefault, FlagsInline, FlagsCached, FlagsUncached, FlagsNone}

// ParseFlags returns the variant that s names.
func ParseFlags(s string) (Flags, error) {
	for _, f := range AllFlags {
		if f.String() == s {
			return f, nil
		}
	}
	return 0, fmt.Errorf("unknown flag variant %q (default, inline, inline+cache, timeout, none)", s)
}

// String names the variant.
func (f Flags) String() string {
	switch f {
	case FlagsDefault:
		return "default"
	case FlagsInline:
		return "inline"
	case FlagsCached:
		return "inline+cache"
	case FlagsUncached:
		return "timeout"
	case FlagsNone:
		return "none"
	}
	return "Flags(" + strconv.Itoa(int(f)) + ")"
}

// Config returns the toggle.Config the variant passes to WithFlags.
func (f Flags) Config() *toggle.Config {
	switch f {
	case FlagsInline:
		return &toggle.Config{Timeout: -1}
	case FlagsCached:
		return &toggle.Config{Timeout: -1, CacheSize: 4096}
	case FlagsUncached:
		return &toggle.Config{}
	}
	return nil
}

func boolFlag(on bool) memprovider.InMemoryFlag {
	v := "off"
	if on {
		v = "on"
	}
	return memprovider.InMemoryFlag{State: memprovider.Enabled, DefaultVariant: v,
		Variants: map[string]any{"on": true, "off": false}}
}
