package gate

import (
	"errors"
	"fmt"
	"time"

	"github.com/codathook/codathook/toggle"
)

// Endpoint names the two receiving endpoints the [Gate] knows. They match the
// root package's EndpointLegacy and EndpointNew values.
const (
	EndpointLegacy = "legacy"
	EndpointNew    = "new"
)

// Defaults of the fields of [toggle.Config].
const (
	DefaultTimeout    = 50 * time.Millisecond
	DefaultRetryAfter = 60 * time.Second
	DefaultCacheTTL   = time.Second

	// DefaultMaxInFlight is the default of [Config.MaxInFlight]. 64
	// evaluations at once is far more than a healthy provider needs (at 1 ms
	// per evaluation, 64,000 evaluations a second; an in-process provider
	// answers in about a microsecond; sharing and the cache absorb repeats),
	// and still a few hundred KiB of goroutine stacks when a hung provider
	// holds them all. Evaluations that honour their deadline free their
	// slot within [DefaultTimeout], so even every evaluation timing out
	// leaves room for 1,280 a second.
	DefaultMaxInFlight = 64
)

// Action tells the receiver what to do with a delivery. The zero value is
// [ActionProcess], so a zero [Decision] never drops a delivery.
type Action int

const (
	// ActionProcess processes the delivery (the endpoint is enabled).
	ActionProcess Action = iota
	// ActionAcknowledge answers 2xx without processing the delivery and without
	// claiming it in dedupe: the other endpoint is authoritative.
	ActionAcknowledge
	// ActionDefer answers 503 with a Retry-After header so the sender retries
	// later; nothing is processed or claimed.
	ActionDefer
)

// String returns "process", "acknowledge" or "defer".
func (a Action) String() string {
	switch a {
	case ActionProcess:
		return "process"
	case ActionAcknowledge:
		return "acknowledge"
	case ActionDefer:
		return "defer"
	default:
		return fmt.Sprintf("Action(%d)", int(a))
	}
}

// WarnInterval is the minimum time between two failure warnings the [Gate]
// logs for one endpoint; the failures in between are counted, and reported in
// the next warning.
const WarnInterval = 10 * time.Second

// errConfig marks configuration errors returned by [New].
var errConfig = errors.New("toggle: invalid config")

type endpointSettings struct {
	name       string
	flag       string
	whenOff    Action
	retryAfter time.Duration
	failClosed bool
}

func resolve(c toggle.EndpointConfig, name, defFlag string) (endpointSettings, error) {
	s := endpointSettings{
		name:       name,
		flag:       c.Flag,
		whenOff:    ActionAcknowledge,
		retryAfter: c.RetryAfter,
		failClosed: c.FailClosed,
	}
	if s.flag == "" {
		s.flag = defFlag
	}
	if c.Defer {
		s.whenOff = ActionDefer
	}
	if s.retryAfter < 0 {
		return s, fmt.Errorf("%w: %s endpoint: negative RetryAfter %v", errConfig, name, c.RetryAfter)
	}
	if s.retryAfter == 0 {
		s.retryAfter = DefaultRetryAfter
	}
	return s, nil
}

// Evaluation-context attribute names the Gate sets (docs/FLAGS.md lists them for targeting rules). The targeting key is the
// company id, or the client id for client-wide events (rate limits).
const (
	AttrEventType    = "eventType"
	AttrFormat       = "format"
	AttrEndpoint     = "endpoint"
	AttrDataType     = "dataType"
	AttrConnectionID = "connectionId"
	AttrClientID     = "clientId"
)
