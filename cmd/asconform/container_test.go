package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `asconform container` writes what the harness would copy into the
// container and prints the rest of its start: an AS flavor's registration
// installs on a homeserver flavor.
func TestContainerCommand(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := container([]string{"--flavor", "mautrix-sample", "--as-url", "http://as:29333", "--hs-url", "http://hs:8008", filepath.Join(dir, "as")}, &out); err != nil {
		t.Fatal(err)
	}
	var as containerSpec
	if err := json.Unmarshal(out.Bytes(), &as); err != nil {
		t.Fatal(err)
	}
	if as.Port != 29333 || as.Env["ASCONFORM_HS_URL"] != "http://hs:8008" || len(as.Registrations) != 1 || as.Registrations[0].HSToken == "" {
		t.Fatalf("AS spec %+v", as)
	}
	reg := filepath.Join(dir, "as", "conf", "registration.yaml")
	out.Reset()
	if err := container([]string{"--flavor", "synapse", "--registrations", reg, filepath.Join(dir, "hs")}, &out); err != nil {
		t.Fatal(err)
	}
	var hs containerSpec
	if err := json.Unmarshal(out.Bytes(), &hs); err != nil {
		t.Fatal(err)
	}
	if hs.Port != 8008 || len(hs.Entrypoint) == 0 || len(hs.Registrations) != 1 || hs.Registrations[0].ASToken != as.Registrations[0].ASToken {
		t.Fatalf("homeserver spec %+v", hs)
	}
	config, err := os.ReadFile(filepath.Join(dir, "hs", "conf", "homeserver.yaml"))
	if err != nil || !strings.Contains(string(config), "/conf/appservices/as01.yaml") {
		t.Fatalf("homeserver.yaml: %v\n%s", err, config)
	}
	if err := container([]string{"--flavor", "fakehs", dir}, &out); err == nil {
		t.Fatal("an in-process flavor was written as a container")
	}
}
