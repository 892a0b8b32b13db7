package dedupe

// Unexported defaults the external tests check.
const (
	DefaultCapacity       = defaultCapacity
	DefaultCapacityMemory = defaultCapacityMemory
	EvictionWarnInterval  = evictionWarnInterval
)
