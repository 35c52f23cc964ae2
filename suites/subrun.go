package suites

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/asconform/asconform/scenarios"
)

// SubRun runs test function test of the current test binary in a child
// process with extra environment, optionally only the specs of the given
// requirement IDs, and returns the child's report and output. Reference and
// mutation runs use it: Ginkgo runs one suite per process.
func SubRun(outDir, test string, env []string, only []string) (scenarios.Report, string, error) {
	args := []string{"-test.run=^" + test + "$", "-test.timeout=10m"}
	if len(only) > 0 {
		args = append(args, "-ginkgo.label-filter="+strings.Join(only, " || "))
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), env...), "ASCONFORM_OUT="+outDir)
	log, _ := cmd.CombinedOutput() // a caught mutant fails the child by design
	var rep scenarios.Report
	data, err := os.ReadFile(filepath.Join(outDir, "results.json"))
	if err == nil {
		err = json.Unmarshal(data, &rep)
	}
	return rep, string(log), err
}
