package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/asconform/asconform/harness"
	"github.com/asconform/asconform/reports"
	"github.com/asconform/asconform/reports/requirements"
	"github.com/asconform/asconform/suites"
)

// list prints requirements with coverage (default), specs, flavors or profiles.
func list(args []string, stdout io.Writer) error {
	what := "requirements"
	if len(args) > 0 {
		what = args[0]
	}
	switch what {
	case "flavors":
		for _, f := range orderedFlavors() {
			name := f.Name()
			caps := ""
			if d, ok := f.(harness.CapabilityDeclarer); ok {
				caps = "; declares " + d.Capabilities()
			}
			fmt.Fprintf(stdout, "%s\t%s side, %s%s\n", name, f.Side(), deployedBy(f), caps)
		}
		return nil
	case "profiles":
		for _, name := range suites.ProfileNames() {
			p := suites.Profiles[name]
			fmt.Fprintf(stdout, "%s\t%s (extensions %s; specs labelled %s)\n", name, p.About, strings.Join(p.Extensions, ", "), suites.ProfileLabel(name))
		}
		return nil
	case "specs", "requirements", "uncovered":
	default:
		return fmt.Errorf("list %q: want requirements, uncovered, specs, flavors or profiles", what)
	}
	specs, err := walkSpecs()
	if err != nil {
		return err
	}
	covered := map[string][]string{}
	for _, s := range specs {
		for _, id := range s.ids {
			covered[id] = append(covered[id], s.text)
		}
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	defer w.Flush()
	switch what {
	case "specs":
		for _, s := range specs {
			text := s.text
			if len(s.needs) > 0 {
				text += " (needs " + strings.Join(s.needs, ", ") + ")"
			}
			fmt.Fprintf(w, "%s\t%s\n", strings.Join(s.ids, ","), text)
		}
	case "requirements", "uncovered":
		fmt.Fprintln(w, "ID\tLEVEL\tSINCE\tSPECS\tSUMMARY")
		for _, r := range requirements.All() {
			if what == "uncovered" && (len(covered[r.ID]) > 0 || r.Level == requirements.Historical) {
				continue
			}
			summary := r.Summary
			if r.Question != "" {
				summary += " QUESTION: " + r.Question
			}
			if r.OutOfReach != "" {
				summary += " OUT OF REACH HERE, needs: " + r.OutOfReach
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\n", r.ID, r.Level, r.Since, len(covered[r.ID]), summary)
		}
		w.Flush()
		fmt.Fprintln(stdout)
		printCoverage(stdout, covered)
	}
	return nil
}

type specInfo struct {
	text  string
	ids   []string
	needs []string // capabilities of the AS under test (harness/capabilities.go)
}

// walkSpecs lists the registered specs with a Ginkgo dry run: no spec body
// runs and no SUT is started.
func walkSpecs() ([]specInfo, error) {
	for name, value := range map[string]string{"ginkgo.dry-run": "true", "ginkgo.no-color": "true", "ginkgo.succinct": "true"} {
		if err := flag.CommandLine.Set(name, value); err != nil {
			return nil, err
		}
	}
	// Ginkgo's dry run prints a progress line of its own: not ours to show.
	if devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
		_, restore, err := redirectStdio(devnull)
		if err == nil {
			defer restore()
		}
		defer devnull.Close()
	}
	suites.Run(&cliT{out: io.Discard}, "asconform (dry run)")
	var out []specInfo
	for _, s := range suites.DryRunSpecs() {
		info := specInfo{text: s.FullText(), needs: harness.NeededBy(s.Labels())}
		for _, l := range s.Labels() {
			if requirements.LooksLikeID(l) {
				info.ids = append(info.ids, l)
			}
		}
		if info.text != "" {
			out = append(out, info)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].text < out[j].text })
	return out, nil
}

// printCoverage prints covered/total per side and level; historical
// statements are listed but do not count.
func printCoverage(w io.Writer, covered map[string][]string) {
	coverage := reports.CoverageOf(func(id string) bool { return len(covered[id]) > 0 })
	allHit, allTotal := coverage.OfSides()
	fmt.Fprintf(w, "coverage: %d/%d requirements of spec %s have at least one spec\n", allHit, allTotal, suites.SpecVersion)
	for _, side := range []requirements.Side{requirements.Homeserver, requirements.AppService} {
		var parts []string
		for _, level := range requirements.Levels {
			if hit, total := coverage.Of(side, level); total > 0 {
				parts = append(parts, fmt.Sprintf("%s %d/%d", level, hit, total))
			}
		}
		fmt.Fprintf(w, "  %-10s %s\n", side, strings.Join(parts, ", "))
	}
	var beyond []string
	for _, r := range requirements.All() {
		if r.OutOfReach != "" && len(covered[r.ID]) == 0 {
			beyond = append(beyond, r.ID)
		}
	}
	if len(beyond) > 0 {
		fmt.Fprintf(w, "out of reach here (no flavor offers what they need; asconform list uncovered says what): %s\n", strings.Join(beyond, ", "))
	}
}

// deployedBy says how the harness runs a flavor's SUT.
func deployedBy(f harness.Flavor) string {
	if c, ok := f.(harness.ContainerFlavor); ok {
		return fmt.Sprintf("default image %s (recipe %s)", c.DefaultImage(), c.Recipe())
	}
	return "in the test process (no Docker)"
}

// orderedFlavors lists the flavors side by side, homeserver first: the
// default, the other implementations, then the reference (in process).
func orderedFlavors() []harness.Flavor {
	var fs []harness.Flavor
	for _, name := range harness.FlavorNames() {
		f, _ := harness.LookupFlavor(name)
		fs = append(fs, f)
	}
	key := func(f harness.Flavor) string {
		side, def := "1", suites.Default("ASCONFORM_AS_FLAVOR")
		if f.Side() == "homeserver" {
			side, def = "0", suites.Default("ASCONFORM_HS_FLAVOR")
		}
		_, inProcess := f.(harness.InProcessFlavor)
		return fmt.Sprintf("%s %t %t %s", side, inProcess, f.Name() != def, f.Name())
	}
	slices.SortStableFunc(fs, func(a, b harness.Flavor) int { return strings.Compare(key(a), key(b)) })
	return fs
}
