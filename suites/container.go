package suites

import (
	"context"
	"fmt"
	"os"

	"github.com/asconform/asconform/harness"
)

// PrepareContainer is what every side does before starting its SUT in a
// container: check the flavor is of that side, start the janitor, resolve
// (or build) the image, and find the address containers reach us at.
func PrepareContainer(ctx context.Context, side, flavorName, image string) (harness.Flavor, string, string, error) {
	flavor, err := harness.LookupFlavor(flavorName)
	if err != nil {
		return nil, "", "", err
	}
	if flavor.Side() != side {
		return nil, "", "", fmt.Errorf("flavor %q tests the %s side, not the %s", flavorName, flavor.Side(), side)
	}
	if err := Janitor(ctx); err != nil {
		return nil, "", "", err
	}
	image, err = harness.ResolveImage(ctx, flavor, image, os.Stderr)
	if err != nil {
		return nil, "", "", err
	}
	gateway, err := harness.GatewayIP(ctx)
	if err != nil {
		return nil, "", "", err
	}
	return flavor, image, gateway, nil
}
