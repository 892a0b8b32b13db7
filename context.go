package codathook

import (
	"context"
	"net/http"
	"time"

	"github.com/codathook/codathook/normalize"
)

type ctxKey struct{ name string }

var deliveryCtxKey = &ctxKey{"delivery"}

// Delivery is the metadata of the HTTP delivery that carried an event. It is
// in the context passed to callbacks and to a wrapped handler.
type Delivery struct {
	// ID is the delivery key used for deduplication: the verified webhook-id
	// (or svix-id) header, else the body id / AlertId, else a hash of the body.
	ID string
	// EventID is the body's id (new format) or AlertId (legacy format).
	EventID string
	// Format is the body's shape: new or legacy.
	Format normalize.Format
	// Endpoint is where the delivery arrived.
	Endpoint Endpoint
	// ReceivedAt is when the receiver started handling the request.
	ReceivedAt time.Time
	// Body is the exact request body that was authenticated. Do not modify it.
	Body []byte
	// Request is the HTTP request (its Body already consumed), for route
	// variables and headers. Callbacks must not read its body.
	Request *http.Request
	// Event is the verified, normalized event, for a wrapped handler (a
	// callback receives it as its argument). For a read.completed it holds
	// the dataTypes elements still to process.
	Event *normalize.Event
}

// DeliveryFromContext returns the delivery metadata that the receiver put in
// a callback's or wrapped handler's context.
func DeliveryFromContext(ctx context.Context) (*Delivery, bool) {
	d, ok := ctx.Value(deliveryCtxKey).(*Delivery)
	return d, ok
}
