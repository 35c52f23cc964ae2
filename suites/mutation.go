package suites

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/asconform/asconform/harness"
	"github.com/asconform/asconform/reports"
)

// Mutation is a named bug, on either side: Killers are the requirement IDs
// whose specs run against it, Because is what a killing spec's failure
// message says (a case-insensitive regular expression naming what the
// mutant broke), so that a spec failing for another reason, or by a
// timeout, is not counted as a kill.
type Mutation struct {
	Name, Bug string
	Killers   []string
	Because   string
}

// Checker is the part of *testing.T the mutation and reference runs need.
type Checker interface {
	Errorf(format string, args ...any)
	Logf(format string, args ...any)
	TempDir() string
}

// SpecInfo is one registered spec: its full text and its labels.
type SpecInfo struct {
	Spec   string   `json:"spec"`
	Labels []string `json:"labels"`
}

// Cells of a kill matrix: what a spec did against a mutant.
const (
	cellKilled   = "K" // failed, and its message names what the mutant broke
	cellTimeout  = "T" // failed by a timeout only
	cellOther    = "x" // failed for another reason
	cellPassed   = "."
	cellSkipped  = "s" // skipped: the SUT does not model the feature
	cellBaseline = "b" // failed as the SUT's baseline says it does anyway
	cellError    = "E" // harness error
	cellNotRun   = " " // the mutant does not target the spec
)

// timedOut recognises failures that only say a bound ran out.
var timedOut = regexp.MustCompile(`(?i)node timeout occurred|context deadline exceeded|timed out after|interrupted by`)

func cell(r reports.Result, because *regexp.Regexp) string {
	switch r.Verdict {
	case reports.Fail, reports.NonStrict:
		switch {
		case because.MatchString(r.Message):
			return cellKilled
		case timedOut.MatchString(r.Message):
			return cellTimeout
		}
		return cellOther
	case reports.ExpectedFailure:
		return cellBaseline
	case reports.Skipped:
		return cellSkipped
	case reports.Error:
		return cellError
	}
	return cellPassed
}

// KillAll runs each mutation's killer specs in a child process (atOnce at
// a time) through run and builds the kill matrix, spec × mutant. It reports as
// errors: a mutant that no spec
// killed for its reason (Because), and a spec of specs that no mutant
// killed for its reason, unless shown names the run of a real SUT that
// showed the spec able to fail. Specs skipped in every run (not modelled by
// this SUT) are left to the other SUT's run. CheckKillers checks the
// Killers entries against every spec. It saves the matrix beside
// side's reports and prints the "mutants killed: K/T (label)" line.
//
// It returns the specs killed for their reason in this run; CheckKilled
// then checks, across every SUT's run, that no spec was left unshown.
func KillAll(t Checker, side, label string, ms []Mutation, specs []SpecInfo, shown map[string]string, atOnce int, run func(m Mutation, outDir string) (reports.Report, string, error)) (killedSpecs map[string]bool) {
	checkMutations(t, ms, specs, shown)
	g := runMutants(t, ms, specs, atOnce, run)
	mutantLines, killed, applicable := g.mutantVerdicts(t)
	grid, specLines, killedSpecs := g.specStatuses(t, specs, shown)
	var legend strings.Builder
	for i, m := range ms {
		fmt.Fprintf(&legend, "  %3d %s\n", i+1, m.Name)
	}
	line := fmt.Sprintf("mutants killed: %d/%d (%s)", killed, applicable, label)
	matrix := "mutants:\n" + mutantLines +
		"\nspec × mutant (K killed for its reason, T by a timeout only, x failed for another reason, . passed, s skipped, b baselined failure, E harness error, blank not targeted):\n" +
		grid + "\ncolumns:\n" + legend.String() + "\nspecs:\n" + specLines
	t.Logf("kill matrix:\n%s", matrix)
	if p, err := WriteKillMatrix(side, strings.ReplaceAll(label, " ", "-"), matrix, line); err != nil {
		t.Errorf("kill matrix: %v", err)
	} else {
		t.Logf("kill matrix written to %s", p)
	}
	fmt.Println(line)
	return killedSpecs
}

// checkMutations fails on a mutant that does not say what kills it, and on
// a spec said shown able to fail that does not exist.
func checkMutations(t Checker, ms []Mutation, specs []SpecInfo, shown map[string]string) {
	for _, m := range ms {
		if m.Because == "" {
			t.Errorf("mutant %s: Because is empty: say what a killing spec's message names", m.Name)
		}
	}
	for spec := range shown {
		if !slices.ContainsFunc(specs, func(s SpecInfo) bool { return s.Spec == spec }) {
			t.Errorf("shown able to fail by a real SUT: %q is no spec", spec)
		}
	}
}

// killGrid is what each mutant's run did to each spec.
type killGrid struct {
	ms       []Mutation
	cells    []map[string]string // per mutant: spec -> cell
	messages []map[string]string // per mutant: spec -> failure message
	took     []time.Duration     // per mutant: its sub-run's wall time
}

// runMutants runs each mutant whose targeted specs are in this run, atOnce
// at a time, and grades each spec's result.
func runMutants(t Checker, ms []Mutation, specs []SpecInfo, atOnce int, run func(m Mutation, outDir string) (reports.Report, string, error)) killGrid {
	g := killGrid{ms: ms, cells: make([]map[string]string, len(ms)), messages: make([]map[string]string, len(ms)), took: make([]time.Duration, len(ms))}
	sem := make(chan struct{}, atOnce)
	var wg sync.WaitGroup
	for i, m := range ms {
		g.cells[i], g.messages[i] = map[string]string{}, map[string]string{}
		because, err := regexp.Compile("(?i)" + m.Because)
		if err != nil {
			t.Errorf("mutant %s: Because: %v", m.Name, err)
			continue
		}
		if !slices.ContainsFunc(specs, func(s SpecInfo) bool { return targets(m, s) }) {
			continue // its specs are left out of this run (slow ones, say): n/a
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			started := time.Now()
			rep, log, err := run(m, t.TempDir())
			g.took[i] = time.Since(started)
			if err != nil {
				t.Errorf("mutant %s: no report (%v); output:\n%s", m.Name, err, harness.LastLines(log, 20))
				return
			}
			for _, r := range rep.Results {
				if r.Verdict == reports.Skipped && r.Message == "" {
					continue // left out by the label filter
				}
				c := cell(r, because)
				g.cells[i][r.Spec], g.messages[i][r.Spec] = c, firstLine(r.Message)
				if c == cellError {
					t.Errorf("mutant %s: harness error in %q: %s", m.Name, r.Spec, r.Message)
				}
			}
		}()
	}
	wg.Wait()
	return g
}

// mutantVerdicts grades each mutant: killed for the reason, n/a (every
// spec skipped), or not.
func (g killGrid) mutantVerdicts(t Checker) (lines string, killed, applicable int) {
	var out strings.Builder
	for i, m := range g.ms {
		count := map[string]int{}
		for _, c := range g.cells[i] {
			count[c]++
		}
		verdict := "killed"
		switch {
		case count[cellSkipped]+count[cellBaseline] == len(g.cells[i]):
			// None ran here, all were skipped as not modelled, or all failed
			// as the SUT's baseline says it does anyway: the mutant's bug is
			// the SUT's own behaviour, so it shows nothing here.
			verdict = "n/a"
		case count[cellKilled] > 0:
			killed++
		case count[cellBaseline] > 0 && count[cellTimeout]+count[cellOther] == 0:
			// The specs it could break fail here anyway; those that passed
			// may not reach its bug (the reference run shows they do).
			verdict = "n/a"
		case count[cellTimeout] > 0:
			verdict = "TIMEOUT-ONLY"
			t.Errorf("mutant %s (%s) was killed only by a timeout: %s", m.Name, m.Bug, failures(g.messages[i], g.cells[i]))
		case count[cellOther] > 0:
			verdict = "WRONG-REASON"
			t.Errorf("mutant %s (%s): specs failed, but no message matches %q: %s", m.Name, m.Bug, m.Because, failures(g.messages[i], g.cells[i]))
		default:
			verdict = "SURVIVED"
			t.Errorf("mutant %s (%s) survived: no spec of %v failed", m.Name, m.Bug, m.Killers)
		}
		if verdict != "n/a" {
			applicable++
		}
		fmt.Fprintf(&out, "  %-34s %-12s %6s  %s\n", m.Name, verdict, tookOf(g.took[i]), m.Bug)
	}
	return out.String(), killed, applicable
}

// tookOf is a sub-run's wall time as the matrix shows it; blank for a
// mutant not run here.
func tookOf(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return fmt.Sprintf("%.0fs", d.Seconds())
}

// specStatuses grades each spec: killed by some mutant for its reason,
// shown able to fail by a real SUT, or not; grid is the spec × mutant table.
func (g killGrid) specStatuses(t Checker, specs []SpecInfo, shown map[string]string) (grid, lines string, killedSpecs map[string]bool) {
	killedSpecs = map[string]bool{}
	var table, out strings.Builder
	fmt.Fprintf(&table, "  %s  spec\n", columnHeads(len(g.ms)))
	for _, s := range specs {
		row := make([]string, len(g.ms))
		var by, killers []string
		ran, notApplicable, baselined := false, true, false
		for i, m := range g.ms {
			c, ok := g.cells[i][s.Spec]
			if !ok {
				c = cellNotRun
			}
			row[i] = c
			ran = ran || ok
			notApplicable = notApplicable && (!ok || c == cellSkipped || c == cellBaseline)
			baselined = baselined || c == cellBaseline
			if c == cellKilled {
				by = append(by, m.Name)
				killers = append(killers, fmt.Sprintf("      %s: %s\n", m.Name, g.messages[i][s.Spec]))
			}
		}
		status := "killed by " + strings.Join(by, ", ")
		switch {
		case len(by) > 0:
			killedSpecs[s.Spec] = true
		case shown[s.Spec] != "":
			status = "shown able to fail by a real SUT: " + shown[s.Spec]
		case ran && (notApplicable || baselined):
			// A spec the SUT fails anyway shows nothing here, also where a
			// mutant happens to mask that failure.
			status = "n/a here (skipped as not modelled, or failing anyway as the SUT's baseline says)"
		case !ran:
			status = "NOT KILLED: no mutant targets it"
			t.Errorf("spec %q: no mutant targets it (none of %v)", s.Spec, s.Labels)
		default:
			status = "NOT KILLED for its reason"
			t.Errorf("spec %q: no mutant killed it for the reason named in the mutant's Because", s.Spec)
		}
		fmt.Fprintf(&table, "  %s  %s\n", strings.Join(row, ""), s.Spec)
		fmt.Fprintf(&out, "  %s\n    %s\n%s", s.Spec, status, strings.Join(killers, ""))
	}
	return table.String(), out.String(), killedSpecs
}

// targets reports whether m's Killers label spec s, a spec that can fail
// (an informational one never does).
func targets(m Mutation, s SpecInfo) bool {
	return !slices.Contains(s.Labels, "informational") && slices.ContainsFunc(m.Killers, func(id string) bool { return slices.Contains(s.Labels, id) })
}

// CheckKillers fails for every Killers entry that labels none of specs.
func CheckKillers(t Checker, ms []Mutation, specs []SpecInfo) {
	labelled := map[string]bool{}
	for _, s := range specs {
		for _, l := range s.Labels {
			labelled[l] = true
		}
	}
	for _, m := range ms {
		for _, id := range m.Killers {
			if !labelled[id] {
				t.Errorf("mutant %s: Killers entry %s labels no spec", m.Name, id)
			}
		}
	}
}

// CheckKilled reports every spec that no run killed for its reason and that
// shown does not name: as an error when complete (every SUT's run was
// made), else in the log, since the missing run may be the one to show it.
func CheckKilled(t Checker, specs []SpecInfo, shown map[string]string, killed map[string]bool, runs string, complete bool) {
	complain := t.Logf
	if complete {
		complain = t.Errorf
	}
	for _, s := range specs {
		if !killed[s.Spec] && shown[s.Spec] == "" {
			complain("spec %q was shown able to fail by no mutant in the runs against %s", s.Spec, runs)
		}
	}
}

// columnHeads numbers the matrix's columns by their last digit.
func columnHeads(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		b.WriteByte(byte('0' + i%10))
	}
	return b.String()
}

func failures(messages, cells map[string]string) string {
	var out []string
	for spec, c := range cells {
		if c == cellTimeout || c == cellOther {
			out = append(out, fmt.Sprintf("\n  %q: %s", spec, messages[spec]))
		}
	}
	sort.Strings(out)
	return strings.Join(out, "")
}

// firstLine is a failure message on one line, cut short.
func firstLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 240 {
		s = s[:240] + "…"
	}
	return s
}

// CheckReference checks a reference run: every spec passes (or is
// informational), or is skipped as not modelled by the reference.
func CheckReference(t Checker, rep reports.Report, what string) {
	passed, skipped := 0, 0
	for _, r := range rep.Results {
		switch {
		case r.Verdict == reports.Pass || r.Verdict == reports.Informational:
			passed++
		case r.Verdict == reports.Skipped && strings.Contains(r.Message, "does not model"):
			skipped++
		default:
			t.Errorf("%s against the reference: %s %s", r.Spec, r.Verdict, r.Message)
		}
	}
	fmt.Printf("reference run: %d/%d specs passed, %d skipped as not modelled (%s)\n", passed, len(rep.Results), skipped, what)
}

// ListSpecs lists the specs of test function test with a Ginkgo dry run in
// a child process (no SUT is started).
func ListSpecs(test string) ([]SpecInfo, error) {
	out := filepath.Join(os.TempDir(), fmt.Sprintf("asconform-specs-%d.json", os.Getpid()))
	defer os.Remove(out)
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-ginkgo.dry-run")
	cmd.Env = append(os.Environ(), specListEnv+"="+out)
	log, _ := cmd.CombinedOutput()
	data, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("listing specs: %w\n%s", err, harness.LastLines(string(log), 20))
	}
	var specs []SpecInfo
	return specs, json.Unmarshal(data, &specs)
}

const specListEnv = "ASCONFORM_SPEC_LIST"

// A dry run asked for by ListSpecs writes the specs it walked.
var _ = ginkgo.ReportAfterSuite("asconform spec list", func(r ginkgo.Report) {
	path := os.Getenv(specListEnv)
	if !r.SuiteConfig.DryRun || path == "" {
		return
	}
	var specs []SpecInfo
	for _, s := range r.SpecReports {
		if s.LeafNodeType == types.NodeTypeIt {
			specs = append(specs, SpecInfo{Spec: s.FullText(), Labels: s.Labels()})
		}
	}
	data, err := json.Marshal(specs)
	if err == nil {
		err = os.WriteFile(path, data, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "asconform: writing the spec list:", err)
	}
})
