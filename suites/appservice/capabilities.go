package appservice

import (
	"fmt"
	"strings"
	"sync"

	. "github.com/onsi/ginkgo/v2"

	"github.com/asconform/asconform/harness"
	"github.com/asconform/asconform/suites"
)

// referenceCapabilities are those of the reference AS (reference.go): the
// samples' plus a third-party protocol, "sample" (reference_thirdparty.go).
const referenceCapabilities = "joins-on-invite,echoes-messages,registers-queried-users,creates-queried-aliases,remote-network,acts-as-devices,thirdparty-protocol=sample"

var (
	capsOnce   sync.Once
	caps       harness.Capabilities
	capsSource string
	capsErr    error
)

// Declared is what the AS under test declares it does beyond the spec, and
// who declared it: ASCONFORM_AS_CAPABILITIES when set, else its flavor;
// an external AS, like its baseline, gets none of a flavor's.
func Declared() (harness.Capabilities, string, error) {
	capsOnce.Do(func() {
		cfg, err := suites.Settings()
		if err != nil {
			capsErr = err
			return
		}
		decl := ""
		switch {
		case cfg.ASCapabilities != "":
			decl, capsSource = cfg.ASCapabilities, "ASCONFORM_AS_CAPABILITIES"
		case cfg.ASURL != "":
			capsSource = "external mode, where no flavor's declaration applies"
		case cfg.ASFlavor == ReferenceFlavor:
			decl, capsSource = referenceCapabilities, "the reference AS"
		default:
			capsSource = "flavor " + cfg.ASFlavor
			if f, err := harness.LookupFlavor(cfg.ASFlavor); err == nil {
				if d, ok := f.(harness.CapabilityDeclarer); ok {
					decl = d.Capabilities()
				}
			}
		}
		caps, capsErr = harness.ParseCapabilities(decl)
	})
	return caps, capsSource, capsErr
}

// skipUnlessDeclared skips the current spec when it needs a capability the
// AS under test has not declared: what it checks is a behaviour some
// bridges have, not a rule of the spec every AS must follow.
func skipUnlessDeclared() {
	needs := harness.NeededBy(CurrentSpecReport().Labels())
	if len(needs) == 0 {
		return
	}
	c, source, err := Declared()
	if err != nil {
		suites.HarnessError(err)
	}
	if missing := c.Missing(needs); len(missing) > 0 {
		Skip(fmt.Sprintf("needs an AS that declares %s; the AS under test declares %s (by %s); if it does this, declare it with --as-capabilities or ASCONFORM_AS_CAPABILITIES",
			strings.Join(missing, ", "), c, source))
	}
}

// has says whether the AS under test declared capability name.
func has(name string) bool {
	c, _, err := Declared()
	return err == nil && c.Has(name)
}

// needs is the label of a spec that needs the named capabilities.
func needs(names ...string) Labels {
	var out Labels
	for _, n := range names {
		out = append(out, harness.NeedsLabel(n))
	}
	return out
}

// skipUnseen skips the current spec when the AS under test did not show
// the behaviour it judges, which no capability declares (the harness knows
// only those in harness.knownCapabilities): what says what the spec needs,
// seen what the AS did instead.
func skipUnseen(what, seen string) {
	Skip(fmt.Sprintf("needs an AS that %s; %s", what, seen))
}
