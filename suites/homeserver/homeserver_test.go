package homeserver_test

import (
	"testing"

	// Named so that the ginkgo CLI treats this as a Ginkgo suite (ginkgo -p).
	_ "github.com/onsi/ginkgo/v2"

	_ "github.com/asconform/asconform/suites/homeserver"

	"github.com/asconform/asconform/suites"
)

// TestHomeserver runs the homeserver suite against the configured SUT
// (by default Synapse in a container built offline from ci/images/synapse).
// The package's runs are parallel tests: most of their time is spent
// waiting on homeservers, so they overlap instead of queueing.
func TestHomeserver(t *testing.T) {
	t.Parallel()
	suites.Run(t, "asconform homeserver suite")
}
