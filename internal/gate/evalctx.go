package gate

import (
	"context"
	"fmt"
	"sync"

	"github.com/open-feature/go-sdk/openfeature"
)

func (g *Gate) safeCall(ctx context.Context, flag string, def bool, evalCtx openfeature.EvaluationContext) (o outcome) {
	defer func() {
		if p := recover(); p != nil {
			o = outcome{value: def, reason: string(openfeature.ErrorReason), err: fmt.Errorf("%w: %v", ErrProviderPanic, p)}
		}
	}()
	det, err := g.client.BooleanValueDetails(ctx, flag, def, evalCtx)
	return outcome{value: det.Value, reason: string(det.Reason), variant: det.Variant, err: err}
}

func boxFormat(f string) any {
	switch f {
	case EndpointLegacy:
		return boxedLegacy
	case EndpointNew:
		return boxedNew
	case "unknown":
		return boxedUnknown
	}
	return f
}

var attrPool = sync.Pool{New: func() any { return make(map[string]any, 8) }}

// buildContext builds the evaluation context; the scratch map is pooled
// because NewEvaluationContext copies it.
func buildContext(ep *endpointGate, target, clientID string, req *Request) openfeature.EvaluationContext {
	m := attrPool.Get().(map[string]any)
	m[AttrEndpoint] = ep.boxedName
	if req.EventType != "" {
		m[AttrEventType] = req.EventType
	}
	if req.Format != "" {
		m[AttrFormat] = boxFormat(req.Format)
	}
	if req.DataType != "" {
		m[AttrDataType] = req.DataType
	}
	if req.ConnectionID != "" {
		m[AttrConnectionID] = req.ConnectionID
	}
	if clientID != "" {
		m[AttrClientID] = clientID
	}
	ec := openfeature.NewEvaluationContext(target, m)
	clear(m)
	attrPool.Put(m)
	return ec
}

// hasTransactionContext reports whether ctx carries an OpenFeature
// transaction context; such evaluations bypass the cache, whose key covers
// only the Gate's own evaluation context.
func hasTransactionContext(ctx context.Context) bool {
	tc := openfeature.TransactionContext(ctx)
	return tc.TargetingKey() != "" || len(tc.Attributes()) > 0
}

// Boxed values for the fixed attribute strings, so that putting them in the
// attribute map does not allocate.
var (
	boxedLegacy  any = EndpointLegacy
	boxedNew     any = EndpointNew
	boxedUnknown any = "unknown"
)
