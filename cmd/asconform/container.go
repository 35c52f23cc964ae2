package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"github.com/asconform/asconform/harness"
	"github.com/asconform/asconform/internal/matrix"
)

// containerSpec is what `asconform container` prints: how to start the
// flavor's container with the files it wrote (scripts read it with jq).
type containerSpec struct {
	Entrypoint    []string            `json:"entrypoint"`
	Cmd           []string            `json:"cmd"`
	Port          int                 `json:"port"`
	Env           map[string]string   `json:"env"`
	Ready         string              `json:"ready"`
	Registrations []registrationBrief `json:"registrations"`
}

type registrationBrief struct {
	ID              string `json:"id"`
	ASToken         string `json:"as_token"`
	HSToken         string `json:"hs_token"`
	SenderLocalpart string `json:"sender_localpart"`
}

// container writes a container flavor's configuration files under a
// directory, as the harness would copy them into its container, and prints
// the rest of its start: the one source of a flavor's configuration for
// scripts that start it without the suite (ci/images/*/e2e.sh).
func container(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("container", flag.ContinueOnError)
	name := fs.String("flavor", "", "container flavor (asconform list flavors; required)")
	serverName := fs.String("server-name", "asconform.test", "the homeserver's server name")
	regFiles := fs.String("registrations", "", "homeserver: registration files to install, comma separated")
	asURL := fs.String("as-url", "", "application service: the URL the homeserver reaches it at (its registration is the flavor's own)")
	hsURL := fs.String("hs-url", "", "application service: the homeserver's URL as the container sees it")
	const usage = `usage: asconform container --flavor NAME [flags] DIR

Writes the flavor's files under DIR (DIR/conf/... for /conf/...) and prints
its start (entrypoint, command, port, environment, registrations) as JSON.
`
	rest, help, err := parseArgs(fs, args, usage, stdout)
	if help || err != nil {
		return err
	}
	if *name == "" || len(rest) != 1 {
		return fmt.Errorf("container: --flavor and one directory are required\n%s", usage)
	}
	dir := rest[0]
	found, err := harness.LookupFlavor(*name)
	if err != nil {
		return err
	}
	flavor, ok := found.(harness.ContainerFlavor)
	if !ok {
		return fmt.Errorf("container: flavor %q runs in the test process, not in a container", *name)
	}
	settings := harness.Settings{ServerName: *serverName, HomeserverURL: *hsURL}
	if maker, ok := flavor.(harness.RegistrationMaker); ok {
		settings.Registrations = []matrix.Registration{maker.Registration(*serverName, *asURL)}
	}
	for _, p := range strings.FieldsFunc(*regFiles, func(r rune) bool { return r == ',' }) {
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		reg, err := matrix.ParseRegistration(data)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		settings.Registrations = append(settings.Registrations, reg)
	}
	spec, err := flavor.Container(settings)
	if err != nil {
		return err
	}
	for path, content := range spec.Files {
		p := filepath.Join(dir, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		// Readable by the container's own user, whichever it is.
		if err := os.WriteFile(p, content, 0o644); err != nil {
			return err
		}
	}
	// Empty rather than null, for jq.
	out := containerSpec{Entrypoint: append([]string{}, spec.Entrypoint...), Cmd: append([]string{}, spec.Cmd...),
		Port: spec.Port, Env: map[string]string{}, Ready: spec.Ready.Path, Registrations: []registrationBrief{}}
	maps.Copy(out.Env, spec.Env)
	for _, r := range settings.Registrations {
		out.Registrations = append(out.Registrations, registrationBrief{r.ID, r.ASToken, r.HSToken, r.SenderLocalpart})
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
