package gate

import (
	"fmt"

	"github.com/open-feature/go-sdk/openfeature"
)

// stater is the part of *openfeature.Client that reports its provider's
// state.
type stater interface {
	State() openfeature.State
}

// Ready reports whether the flags can be evaluated: nil when the client
// cannot say (it has no State method) or its provider is READY or STALE
// (stale flags are still served), else an error naming the state.
func (g *Gate) Ready() error {
	s, ok := g.client.(stater)
	if !ok {
		return nil
	}
	switch st := s.State(); st {
	case openfeature.ReadyState, openfeature.StaleState:
		return nil
	default:
		return fmt.Errorf("toggle: flag provider %s", st)
	}
}
