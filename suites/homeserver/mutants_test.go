package homeserver_test

import (
	"context"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/asconform/asconform/reports"
	"github.com/asconform/asconform/suites"
	"github.com/asconform/asconform/suites/homeserver"
	"github.com/asconform/asconform/suites/mutants"
)

// shownByRealSUT names specs no mutant can break from outside, with the run
// of a real homeserver that showed them able to fail.
var shownByRealSUT = map[string]string{}

// allProfiles chooses every opt-in profile for the sub-runs of the tests
// below, so that the specs of unstable extensions are shown able to pass
// and to fail like the others (the SUT's flavor switches them on).
var allProfiles = "ASCONFORM_PROFILE=" + strings.Join(suites.ProfileNames(), ",")

// mutantsAreKilled runs the specs of the requirements each mutant breaks
// (the SUT broken on purpose from outside), against the reference (fakehs,
// no Docker, fast backoff) and against the configured real SUT, and fails if
// a mutant survives, is killed only by a timeout or for another reason than
// its bug, or if a spec is killed by no mutant for its reason.
func mutantsAreKilled(t *testing.T) {
	if os.Getenv("ASCONFORM_MUTANT") != "" || os.Getenv("ASCONFORM_HS_URL") != "" {
		t.Skip("a mutation run itself, or external mode")
	}
	if testing.Short() {
		t.Skip("-short")
	}
	specs, err := suites.ListSpecs("TestHomeserver")
	if err != nil {
		t.Fatal(err)
	}
	var ms []suites.Mutation
	for _, m := range mutants.All() {
		ms = append(ms, suites.Mutation{Name: m.Name, Bug: m.Bug, Killers: m.Killers, Because: m.Because})
	}
	suites.CheckKillers(t, ms, specs)
	flavors := []string{homeserver.ReferenceFlavor}
	if f := os.Getenv("ASCONFORM_HS_FLAVOR"); f != homeserver.ReferenceFlavor {
		flavors = append(flavors, map[bool]string{true: "synapse", false: f}[f == ""])
	}
	shown := shownByRealSUT
	if len(flavors) > 1 {
		shown = withBaseline(t, shownByRealSUT, flavors[1], specs)
	}
	killed := map[string]bool{}
	for _, flavor := range flavors {
		label := "homeserver"
		if flavor != homeserver.ReferenceFlavor {
			label = "homeserver on " + flavor
		}
		// The slow specs (the SUT's own 60 s timeouts) run against the
		// reference only: there they take seconds.
		filter := func(m suites.Mutation) string {
			if flavor == homeserver.ReferenceFlavor {
				return suites.AnyOf(m.Killers)
			}
			return suites.AnyOf(m.Killers) + " && !slow"
		}
		these := specs
		if flavor != homeserver.ReferenceFlavor {
			these = slices.DeleteFunc(slices.Clone(specs), func(s suites.SpecInfo) bool { return slices.Contains(s.Labels, "slow") })
		}
		t.Run(flavor, func(t *testing.T) {
			shared := sharedHomeserver(t, flavor, ms)
			// Three children at a time, each with its own homeserver or in
			// process; sharing one, a child is mostly waiting on it.
			atOnce := 3
			if shared != nil {
				atOnce = 5
			}
			for spec := range suites.KillAll(t, "homeserver", label, ms, these, shownByRealSUT, atOnce, func(m suites.Mutation, out string) (reports.Report, string, error) {
				env := []string{"ASCONFORM_HS_FLAVOR=" + flavor, "ASCONFORM_MUTANT=" + m.Name, allProfiles}
				if shared == nil {
					return suites.SubRun(out, "TestHomeserver", env, filter(m))
				}
				childEnv, sockets := shared.Child(m.Name)
				return suites.SubRun(out, "TestHomeserver", append(env, childEnv...), filter(m), sockets...)
			}) {
				killed[spec] = true
			}
		})
	}
	suites.CheckKilled(t, specs, shown, killed, strings.Join(flavors, " and "), len(flavors) > 1)
}

// sharedHomeserver starts one homeserver of a container flavor for all the
// mutation runs, each with fake ASes of its own (a start per mutant was
// most of the run's work); nil for the reference, which starts in no time.
// The mutants rewrite at the proxy and the fake ASes, never inside the
// homeserver; specs that need a homeserver of their own still start one.
func sharedHomeserver(t *testing.T, flavor string, ms []suites.Mutation) *homeserver.SharedHomeserver {
	if flavor == homeserver.ReferenceFlavor {
		return nil
	}
	cfg, err := suites.Settings()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Flavor, cfg.Profiles = flavor, suites.ProfileNames()
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
	}
	start := time.Now()
	shared, err := homeserver.StartShared(t.Context(), cfg, t.TempDir(), names)
	if err != nil {
		t.Fatalf("the homeserver the mutation runs share: %v", err)
	}
	t.Cleanup(func() { _ = shared.Stop(context.Background()) })
	t.Logf("%s shared by %d mutation runs, started in %s", flavor, len(names), time.Since(start).Round(100*time.Millisecond))
	return shared
}

// withBaseline adds to shown the specs the SUT's own baseline names as
// failing (not intermittently): the SUT shows them able to fail, as
// TestHomeserver and dendriteRun check against that baseline, though no
// mutant can kill them there (e.g. Dendrite pushes no typing notifications,
// which fakehs does not model either).
func withBaseline(t *testing.T, shown map[string]string, flavor string, specs []suites.SpecInfo) map[string]string {
	c, err := suites.Settings()
	if err != nil {
		t.Fatal(err)
	}
	exp, err := reports.LoadExpectations(c.Expectations)
	if err != nil {
		t.Fatal(err)
	}
	out := maps.Clone(shown)
	for _, k := range exp.ExpectedFailures {
		for _, s := range specs {
			if !k.Intermittent && (k.Spec == s.Spec || k.Requirement != "" && slices.Contains(s.Labels, k.Requirement)) && out[s.Spec] == "" {
				out[s.Spec] = "fails against " + flavor + " as its baseline says: " + k.Reason
			}
		}
	}
	return out
}

// referenceRun runs the whole suite against the reference homeserver:
// every spec must pass there, which shows each spec able to pass.
func referenceRun(t *testing.T) {
	if os.Getenv("ASCONFORM_MUTANT") != "" || os.Getenv("ASCONFORM_HS_FLAVOR") == homeserver.ReferenceFlavor {
		t.Skip("a sub-run itself")
	}
	rep, log, err := suites.SubRun(t.TempDir(), "TestHomeserver", []string{"ASCONFORM_HS_FLAVOR=" + homeserver.ReferenceFlavor, "ASCONFORM_MUTANT=", allProfiles}, "")
	if err != nil {
		t.Fatalf("reference run: %v\n%s", err, log)
	}
	suites.CheckReference(t, rep, "homeserver suite against fakehs")
}
