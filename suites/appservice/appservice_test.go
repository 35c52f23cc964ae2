package appservice_test

import (
	"testing"

	// Named so that the ginkgo CLI treats this as a Ginkgo suite (ginkgo -p).
	_ "github.com/onsi/ginkgo/v2"

	_ "github.com/asconform/asconform/suites/appservice"

	"github.com/asconform/asconform/suites"
)

// TestAppService runs the application-service suite against the configured
// AS (by default the mautrix-python sample, built offline from ci/images).
func TestAppService(t *testing.T) { suites.Run(t, "asconform application-service suite") }
