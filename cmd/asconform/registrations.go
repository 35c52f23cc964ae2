package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/asconform/asconform/suites/homeserver"
)

// registrations writes the registration files that external mode expects
// installed on a homeserver the user runs, and says how to use them.
func registrations(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("registrations", flag.ContinueOnError)
	serverName := fs.String("server-name", "", "the homeserver's server name (required)")
	host := fs.String("url-host", "", "host or address at which the homeserver reaches this machine (required)")
	port := fs.Int("port", 29301, "port of the first fake AS; the others follow")
	const usage = "usage: asconform registrations --server-name NAME --url-host HOST [--port N] DIR\n"
	rest, help, err := parseArgs(fs, args, usage, stdout)
	if help || err != nil {
		return err
	}
	if *serverName == "" || *host == "" || len(rest) != 1 {
		return fmt.Errorf("registrations: --server-name, --url-host and one directory are required\n%s", usage)
	}
	dir := rest[0]
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	regs := homeserver.ExternalRegistrations(*serverName, *host, *port)
	var paths []string
	for _, reg := range regs {
		data, err := reg.Marshal()
		if err != nil {
			return err
		}
		p := filepath.Join(dir, reg.ID+".yaml")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			return err
		}
		paths = append(paths, p)
	}
	fmt.Fprintf(stdout, `wrote %d registration files to %s (fake ASes on %s ports %d-%d).
Install every one on the homeserver (Synapse: app_service_config_files; Dendrite:
app_service_api.config_files), restart it, then run from this machine:

  asconform run --hs-url URL --server-name %s --registrations %s

Tokens are fresh and random: keep the directory private, and write new files
for each homeserver.
`, len(paths), dir, *host, *port, *port+len(paths)-1, *serverName, dir)
	return nil
}
