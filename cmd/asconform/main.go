// Command asconform runs the Matrix Application Service API conformance
// suites and writes their reports.
//
//	asconform run      run the homeserver and/or application-service suite
//	asconform list     list requirements (with coverage), specs, flavors or profiles
//	asconform bench    measure the homeserver's start and push latency, or the suite's time
//	asconform registrations  write registration files for external mode
//	asconform container  write a container flavor's configuration, for scripts
//	asconform docs     print (or rewrite) the README's sections made from code
//	asconform matrix   line several runs up requirement by requirement
//	asconform expectations update  rewrite a baseline from a run
//	asconform clean    remove every Docker container and network asconform left
//	asconform version  print the version
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/asconform/asconform/harness"
	"github.com/asconform/asconform/suites"
	_ "github.com/asconform/asconform/suites/appservice"
	_ "github.com/asconform/asconform/suites/homeserver"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `usage: asconform <command> [flags]

commands:
  run       run the conformance suite and write reports (asconform run -h)
  list      list requirements (with coverage), specs, flavors or profiles
  bench     measure Synapse start and push latency (asconform bench -h; see BENCHMARKS.md);
            bench suite: the suite's time, serial vs parallel, as it grows
  registrations  write the registration files to install on a homeserver you run (external mode)
  container  write a container flavor's configuration files and print its start (asconform container -h)
  docs      print the README's generated sections (configuration, flavors); --write README.md rewrites them
  compare   compare results.json files of several runs side by side (asconform compare -h)
  matrix    a conformance matrix of several runs, requirement by requirement (asconform matrix -h)
  expectations update  rewrite an implementation's baseline from runs (asconform expectations -h)
  clean     remove containers and networks of ended runs (--all: of every run)
  version   print the version
`

// Exit codes: 0 outcome matches the expectations; 1 it does not; 2 the
// command could not run (bad flags, Docker unreachable, ...).
func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// commands are the subcommands but run, which returns its own exit code.
var commands = map[string]func(args []string, stdout io.Writer) error{
	"list": list, "clean": clean, "registrations": registrations, "container": container,
	"docs": docs, "compare": compare, "bench": bench, "matrix": matrixCmd,
	"expectations": func(args []string, stdout io.Writer) error { return expectations(args, os.Stdin, stdout) },
	"version": func(_ []string, stdout io.Writer) error {
		_, err := fmt.Fprintf(stdout, "asconform %s (targets Matrix spec %s)\n", version, suites.SpecVersion)
		return err
	},
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	if args[0] == "run" {
		return runSuite(args[1:], stdout, stderr)
	}
	if slices.Contains([]string{"-h", "-help", "--help", "help"}, args[0]) {
		fmt.Fprint(stdout, usage)
		return 0
	}
	command, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "asconform: unknown command %q\n%s", args[0], usage)
		return 2
	}
	if err := command(args[1:], stdout); err != nil {
		fmt.Fprintln(stderr, "asconform:", err)
		return 2
	}
	return 0
}

// clean removes what dead runs left; with --all, also what live runs use.
func clean(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("clean", flag.ContinueOnError)
	all := fs.Bool("all", false, "also remove the containers of runs still in progress")
	if help, err := parseFlags(fs, args, "usage: asconform clean [--all]\n", stdout); help || err != nil {
		return err
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	defer cancelTimeout()
	match := harness.Abandoned
	if *all {
		match = harness.All
	}
	n, err := harness.Sweep(ctx, match)
	fmt.Fprintf(stdout, "removed %d container(s) and network(s)\n", n)
	return err
}
