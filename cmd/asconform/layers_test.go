package main

import (
	"os/exec"
	"strings"
	"testing"
)

// layers is the flow SUT ⇄ fake ⇄ scenario ⇄ report as an import order: a
// package may import its own layer and those below, never one above
// (README, "How it works").
var layers = []struct {
	name     string
	packages []string
}{
	{"wire", []string{"internal/matrix", "internal/rawhttp", "internal/recorder", "internal/csapi", "reports/requirements"}},
	{"peers and the results model", []string{"fakeas", "fakehs", "reports"}},
	{"deployment", []string{"harness"}},
	{"scenarios", []string{"scenarios", "scenarios/match"}},
	{"spec scaffold and mutants", []string{"suites", "suites/mutants"}},
	{"specs and benchmarks", []string{"suites/homeserver", "suites/appservice", "suites/bench"}},
	{"command", []string{"cmd/asconform"}},
}

const module = "github.com/asconform/asconform/"

// TestImportsFollowTheLayers checks every package's imports, its tests'
// included, against the layers; a new package must be given a layer.
func TestImportsFollowTheLayers(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}} {{join .TestImports " "}} {{join .XTestImports " "}}`, module+"...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	layerOf := map[string]int{}
	for i, l := range layers {
		for _, p := range l.packages {
			layerOf[p] = i
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module)
		from, ok := layerOf[pkg]
		if !ok {
			t.Errorf("package %s has no layer: add it to layers", pkg)
			continue
		}
		for _, imp := range fields[1:] {
			dep, own := strings.CutPrefix(imp, module)
			if !own {
				continue
			}
			if to := layerOf[dep]; to > from {
				t.Errorf("%s (%s) imports %s (%s), a layer above it", pkg, layers[from].name, dep, layers[to].name)
			}
		}
	}
}
