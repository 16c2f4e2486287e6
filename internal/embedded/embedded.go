// Package embedded starts the in-memory Redis (miniredis) the gateway
// serves when no Redis is configured, set up to behave as Redis does
// where miniredis would otherwise differ, so that the binary and the
// tests that hold it to the parity table start the same server.
package embedded

import (
	"fmt"

	"github.com/alicebob/miniredis/v2"
)

// Start starts an embedded Redis on a free loopback port. TTLs run on the
// wall clock (miniredis otherwise advances time only when told, so keys
// would never expire). The caller closes it.
func Start() (*miniredis.Miniredis, error) {
	mr := miniredis.NewMiniRedis()
	if err := mr.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("embedded: start: %w", err)
	}
	mr.ClockTTL(true)
	return mr, nil
}
