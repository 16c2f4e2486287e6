package client

// SetAfterCheck makes f run fn after its WATCH/GET check and before the
// MULTI…EXEC write, for tests that change K in between.
func SetAfterCheck(f *Fence, fn func()) { f.afterCheck = fn }
