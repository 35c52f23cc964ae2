package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/asconform/asconform/internal/matrix"
)

func TestRegistrationsWritesWhatExternalModeReads(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "regs")
	var stdout, stderr strings.Builder
	if code := run([]string{"registrations", "--server-name", "hs.test", "--url-host", "192.0.2.1", "--port", "4000", dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(paths) != 7 {
		t.Fatalf("%d files; want the suite's 7 fake ASes", len(paths))
	}
	ephemeral := 0
	for i, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		reg, err := matrix.ParseRegistration(data)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if want := "http://192.0.2.1:" + []string{"4000", "4001", "4002", "4003", "4004", "4005", "4006"}[i]; reg.URL == nil || *reg.URL != want {
			t.Errorf("%s: url %v; want %s", p, reg.URL, want)
		}
		if !reg.InUsers("@asc" + string(rune('1'+i)) + "_x:hs.test") {
			t.Errorf("%s: its users namespace does not hold the suite's users", p)
		}
		if reg.ReceiveEphemeral {
			ephemeral++
		}
	}
	if ephemeral != 1 {
		t.Errorf("%d registrations receive ephemeral data; want 1", ephemeral)
	}
	if !strings.Contains(stdout.String(), "--registrations "+dir) {
		t.Errorf("output does not say how to run with the files:\n%s", stdout.String())
	}
	if code := run([]string{"registrations", dir}, &stdout, &stderr); code != 2 {
		t.Errorf("without --server-name and --url-host: exit %d; want 2", code)
	}
}
