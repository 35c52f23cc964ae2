package suites

import (
	"fmt"
	"sort"
	"strings"

	"github.com/onsi/ginkgo/v2"

	"github.com/asconform/asconform/harness"
)

// Profile is an opt-in set of unstable extensions of the AS API. Its specs
// carry the label ProfileLabel(name) and run only when the profile is
// chosen (ASCONFORM_PROFILE, asconform run --profile); the flavor switches
// on what the profile needs.
type Profile struct {
	About      string
	Extensions []string // harness.Ext*
}

// Profiles are the known profiles, by name.
var Profiles = map[string]Profile{
	"e2ee-bridges": {
		About:      "what encrypted bridges use beyond the stable spec: to-device messages pushed to the AS (MSC2409/MSC4203), device lists and one-time key counts in transactions (MSC3202), one-time key claims and device key queries forwarded to the AS (MSC3983, MSC3984)",
		Extensions: []string{harness.ExtToDevice, harness.ExtMSC3202, harness.ExtKeyClaims, harness.ExtKeyQueries},
	},
}

// ProfileLabel is the label of the specs of profile name.
func ProfileLabel(name string) string { return "profile:" + name }

// ProfileNames lists the known profiles.
func ProfileNames() []string {
	var names []string
	for n := range Profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// parseProfiles checks a comma-separated list of profile names.
func parseProfiles(v string) ([]string, error) {
	var out []string
	for _, n := range strings.Split(v, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if _, ok := Profiles[n]; !ok {
			return nil, fmt.Errorf("ASCONFORM_PROFILE: unknown profile %q (known: %s)", n, strings.Join(ProfileNames(), ", "))
		}
		out = append(out, n)
	}
	return out, nil
}

// Extensions are the extensions of the run's profiles, for the flavor.
func (c Config) Extensions() []string {
	var out []string
	for _, n := range c.Profiles {
		out = append(out, Profiles[n].Extensions...)
	}
	return out
}

// A spec of a profile the run did not choose is skipped, saying how to
// choose it: the default run checks the stable spec only.
var _ = ginkgo.BeforeEach(func() {
	c, err := Settings()
	if err != nil {
		return
	}
	for _, l := range ginkgo.CurrentSpecReport().Labels() {
		name, ok := strings.CutPrefix(l, "profile:")
		if !ok {
			continue
		}
		chosen := false
		for _, p := range c.Profiles {
			chosen = chosen || p == name
		}
		if !chosen {
			ginkgo.Skip(fmt.Sprintf("checks an unstable extension of the opt-in profile %s, not chosen for this run (ASCONFORM_PROFILE=%s or asconform run --profile %s)", name, name, name))
		}
	}
})
