package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/asconform/asconform/suites"
)

// notForUsers are the ASCONFORM_ variables the code reads that a user does
// not set: how the harness talks to its own children and containers.
var notForUsers = map[string]string{
	"ASCONFORM_PROGRESS":    "where a run's processes report progress to the console",
	"ASCONFORM_REAPER_RUN":  "the run a reaper process cleans up after",
	"ASCONFORM_SPEC_LIST":   "where a dry run writes the spec list for the mutation runs",
	"ASCONFORM_TEST_CHILD":  "the harness tests' broken child processes",
	"ASCONFORM_HS_DOMAIN":   "the server name handed to a sample AS container",
	"ASCONFORM_ROOT":        "the source tree, for a binary run outside it",
	"ASCONFORM_FOCUS":       "ci/asconform-ci.sh's own input, documented in that script",
	"ASCONFORM_CLEAN":       "ci/asconform-ci.sh's own input, documented in that script",
	"ASCONFORM_SCREENSHOTS": "where ci/publish-results.sh has the browser test save the README's screenshots",
}

// The README's generated sections (configuration table, flavors) are what
// `go generate ./cmd/asconform` makes of the code now.
func TestREADMEGeneratedSectionsAreCurrent(t *testing.T) {
	root := filepath.Join("..", "..")
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := regenerate(string(readme), root)
	if err != nil {
		t.Fatal(err)
	}
	if want != string(readme) {
		t.Error("README.md's generated sections are stale: run go generate ./cmd/asconform")
	}
}

// TestConfigurationTableIsComplete keeps suites.Variables (the README's
// configuration table) and the code that reads the variables in step: every
// ASCONFORM_ variable the Go code names is in the table (or in notForUsers,
// with why), and every variable in either is read somewhere.
func TestConfigurationTableIsComplete(t *testing.T) {
	root := filepath.Join("..", "..")
	variable := regexp.MustCompile(`ASCONFORM_[A-Z0-9_]+`)
	var documented []string
	for _, v := range suites.Variables {
		documented = append(documented, v.Name)
	}
	read := map[string]string{} // variable -> a file naming it
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// ci/images holds the sample ASes' own modules: their variables are
		// the image contract, documented beside them.
		if d.IsDir() && (d.Name() == "images" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || filepath.Ext(path) != ".go" || filepath.Base(path) == "config_doc_test.go" || path == filepath.Join(root, "suites", "config.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, v := range variable.FindAllString(string(src), -1) {
			read[v] = path
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	config, err := os.ReadFile(filepath.Join(root, "suites", "config.go"))
	if err != nil {
		t.Fatal(err)
	}
	// config.go reads the variables through Setting("NAME").
	for _, m := range regexp.MustCompile(`Setting\("(ASCONFORM_[A-Z0-9_]+)"\)`).FindAllStringSubmatch(string(config), -1) {
		read[m[1]] = "suites/config.go"
	}
	for v, path := range read {
		if !slices.Contains(documented, v) && notForUsers[v] == "" {
			t.Errorf("%s (read in %s) is missing from suites.Variables", v, path)
		}
	}
	for _, v := range documented {
		if read[v] == "" {
			t.Errorf("suites.Variables documents %s, which no Go code reads", v)
		}
	}
	for v := range notForUsers {
		if read[v] == "" {
			t.Errorf("notForUsers names %s, which no Go code reads", v)
		}
	}
}

// Every `asconform NAME` the code and the docs tell a user to run is a
// command (an error text once named one that did not exist).
func TestNamedCommandsExist(t *testing.T) {
	root := filepath.Join("..", "..")
	named := regexp.MustCompile("`asconform ([a-z][a-z-]*)")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "results") && path != root {
			return filepath.SkipDir
		}
		ext := filepath.Ext(path)
		if d.IsDir() || strings.HasSuffix(path, "_test.go") || ext != ".go" && ext != ".md" && ext != ".sh" {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range named.FindAllStringSubmatch(string(src), -1) {
			if _, ok := commands[m[1]]; !ok && m[1] != "run" {
				t.Errorf("%s names `asconform %s`, which is no command", path, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
