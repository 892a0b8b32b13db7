package gate

// SetTestHookWaiting makes g call f once a delivery has started or joined
// its evaluation and before it waits for the result. Call it before the
// first Evaluate.
func SetTestHookWaiting(g *Gate, f func()) { g.testHookWaiting = f }
