package codathook

// Unexported names the external tests check.
const (
	HeaderCodatClientID    = headerCodatClientID
	HeaderSvixID           = headerSvixID
	HeaderSvixSignature    = headerSvixSignature
	HeaderSvixTimestamp    = headerSvixTimestamp
	HeaderWebhookID        = headerWebhookID
	HeaderWebhookSignature = headerWebhookSignature
	HeaderWebhookTimestamp = headerWebhookTimestamp
	DefaultBodyReadTimeout = defaultBodyReadTimeout
	DefaultCallbackTimeout = defaultCallbackTimeout
	DefaultFlagCacheSize   = defaultFlagCacheSize
	DefaultMaxBodyBytes    = defaultMaxBodyBytes
	DefaultTolerance       = defaultTolerance
	MinSecretBytes         = minSecretBytes
	RetryAfter             = retryAfter
)

var (
	ErrMissingSignature  = errMissingSignature
	ErrInvalidSignature  = errInvalidSignature
	ErrStaleTimestamp    = errStaleTimestamp
	ErrUnauthorized      = errUnauthorized
	ErrNotConfigured     = errNotConfigured
	ErrUnsignedNewFormat = errUnsignedNewFormat
	ErrMethodNotAllowed  = errMethodNotAllowed
	ErrInFlight          = errInFlight
	ErrDeferred          = errDeferred
	ErrBodyUnreadable    = errBodyUnreadable
	ErrCallbackTimeout   = errCallbackTimeout
	ErrBodyTimeout       = errBodyTimeout
	ErrOverloaded        = errOverloaded
)
