package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/asconform/asconform/harness"
	"github.com/asconform/asconform/suites"
	perf "github.com/asconform/asconform/suites/bench"
)

const benchUsage = `usage: asconform bench [flags]
       asconform bench suite [flags]

Measures the homeserver's start (fresh containers, warm and as after a
fresh install) and its push latency and throughput to a fake AS at a few
send rates, and prints the figures (BENCHMARKS.md). Everything it starts in
Docker is removed at the end, or by the reaper if the command dies. With
-from it prints a saved run again (and redraws its chart) without
measuring. bench suite times the suite instead.
`

// benchFlags are bench's settings.
type benchFlags struct {
	flavor, image, serverName string
	starts                    int
	rates                     []float64
	push                      perf.PushOptions
	readyTimeout              time.Duration
}

// bench measures (or, with -from, prints a saved measurement) and prints.
func bench(args []string, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "suite" {
		return benchSuite(args[1:], stdout)
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var f benchFlags
	fs.StringVar(&f.flavor, "flavor", suites.Default("ASCONFORM_HS_FLAVOR"), "homeserver flavor (asconform list flavors)")
	fs.StringVar(&f.image, "image", "", "container image (default: the flavor's image, built offline from ci/ when missing)")
	fs.StringVar(&f.serverName, "server-name", "asconform.test", "server name of the homeserver")
	fs.IntVar(&f.starts, "starts", 3, "fresh-container starts of each kind (warm, cold), alternating; 0 skips the start benchmark")
	rates := fs.String("rates", "5,20,50,100,0", "send rates in events/s, comma separated; 0 = as fast as -workers sends in flight go; empty skips the push benchmark")
	fs.DurationVar(&f.push.Duration, "duration", 4*time.Second, "sending time per rate")
	fs.IntVar(&f.push.MaxEvents, "max-events", 400, "at most this many events per rate")
	fs.IntVar(&f.push.Senders, "senders", 2, "users sending into the bridged room")
	fs.IntVar(&f.push.Workers, "workers", 8, "sends in flight at most")
	fs.DurationVar(&f.push.Drain, "drain", 15*time.Second, "how long to wait for a rate's last events to reach the fake AS")
	fs.DurationVar(&f.readyTimeout, "ready-timeout", 120*time.Second, "how long a container may take to answer /versions")
	svgPath := fs.String("svg", "", "write the push latency chart (SVG) to this file")
	jsonPath := fs.String("json", "", "write every measured value (JSON) to this file")
	from := fs.String("from", "", "print the run saved with -json in this file (and draw its -svg) instead of measuring")
	if help, err := parseFlags(fs, args, benchUsage, stdout); help || err != nil {
		return err
	}
	var out benchOutput
	var err error
	if *from != "" {
		out, err = readBench(*from)
	} else if f.rates, err = parseRates(*rates); err == nil {
		out, err = measureBench(f)
	}
	if err == nil && *from == "" && *jsonPath != "" {
		err = writeJSON(*jsonPath, out)
	}
	if err != nil {
		return err
	}
	if err := printBench(stdout, out, *svgPath); err != nil {
		return err
	}
	if *jsonPath != "" && *from == "" {
		fmt.Fprintf(stdout, "data: %s\n", *jsonPath)
	}
	return nil
}

// readBench reads a run saved with -json.
func readBench(path string) (benchOutput, error) {
	var out benchOutput
	data, err := os.ReadFile(path)
	if err != nil {
		return out, err
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return out, fmt.Errorf("bench: %s: %w", path, err)
	}
	return out, nil
}

// measureBench runs the start and push benchmarks, with a janitor that
// removes every container they started.
func measureBench(f benchFlags) (out benchOutput, err error) {
	found, err := harness.LookupFlavor(f.flavor)
	if err != nil {
		return out, err
	}
	flavor, ok := found.(harness.ContainerFlavor)
	if !ok {
		return out, fmt.Errorf("bench: flavor %q runs in process; bench measures a homeserver in a container", f.flavor)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute+f.readyTimeout)
	defer cancel()
	began := time.Now()
	janitor, err := harness.StartJanitor(ctx)
	if err != nil {
		return out, err
	}
	defer func() {
		cctx, ccancel := context.WithTimeout(context.Background(), time.Minute)
		defer ccancel()
		if cerr := janitor.Close(cctx); cerr != nil {
			err = errors.Join(err, fmt.Errorf("removing the benchmark's containers: %w", cerr))
		}
	}()
	ref, err := harness.ResolveImage(ctx, flavor, f.image, os.Stderr)
	if err != nil {
		return out, err
	}
	out = benchOutput{
		Date: began.UTC().Format(time.RFC3339), Flavor: flavor.Name(), Image: ref,
		CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), Before: perf.Conditions(ctx),
		Senders: f.push.Senders, Workers: f.push.Workers, Duration: f.push.Duration.String(), MaxEvents: f.push.MaxEvents,
	}
	if f.starts > 0 {
		out.Starts, err = perf.MeasureStarts(ctx, perf.StartOptions{
			Flavor: flavor, Image: ref, ServerName: f.serverName, PerKind: f.starts,
			ReadyTimeout: f.readyTimeout, Progress: os.Stderr,
		})
		if err != nil {
			return out, err
		}
	}
	if len(f.rates) > 0 {
		opts := f.push
		opts.Flavor, opts.Image, opts.ServerName, opts.ReadyTimeout = flavor, ref, f.serverName, f.readyTimeout
		opts.Rates, opts.Progress = f.rates, os.Stderr
		if out.Push, err = measurePush(ctx, opts); err != nil {
			return out, err
		}
	}
	out.After = perf.Conditions(ctx)
	out.Seconds = time.Since(began).Round(100 * time.Millisecond).Seconds()
	return out, nil
}

// measurePush starts the push benchmark's environment, measures, and
// stops it.
func measurePush(ctx context.Context, opts perf.PushOptions) ([]perf.PushResult, error) {
	env, err := perf.StartPushEnv(ctx, opts)
	if err != nil {
		return nil, err
	}
	results, err := perf.MeasurePush(ctx, env, opts)
	return results, errors.Join(err, env.Close(ctx))
}

// writeJSON writes v, indented, to path.
func writeJSON(path string, v any) error {
	return writeFile(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	})
}

// benchOutput is one run of `asconform bench`, as saved by -json.
type benchOutput struct {
	Date       string             `json:"date"`
	Flavor     string             `json:"flavor"`
	Image      string             `json:"image"`
	CPUs       int                `json:"cpus"`
	GOMAXPROCS int                `json:"gomaxprocs"`
	Before     string             `json:"before"`
	After      string             `json:"after"`
	Seconds    float64            `json:"seconds"`
	Senders    int                `json:"senders"`
	Workers    int                `json:"workers"`
	Duration   string             `json:"duration_per_rate"`
	MaxEvents  int                `json:"max_events_per_rate"`
	Starts     []perf.StartResult `json:"starts,omitempty"`
	Push       []perf.PushResult  `json:"push,omitempty"`
}

// printBench prints a run's tables and, when svgPath is set, draws its chart.
func printBench(stdout io.Writer, out benchOutput, svgPath string) error {
	fmt.Fprintf(stdout, "asconform bench: %s (%s), %d CPUs, GOMAXPROCS %d, %s\n",
		out.Flavor, out.Image, out.CPUs, out.GOMAXPROCS, out.Date)
	fmt.Fprintf(stdout, "before: %s\n", out.Before)
	if len(out.Starts) > 0 {
		fmt.Fprintln(stdout, "\nStart: fresh container and database each; warm = the image as built, cold = same image started as after a fresh install (the caches it ships, such as compiled bytecode, ignored)")
		fmt.Fprintln(stdout, "  ready = Docker StartedAt -> first 200 on /_matrix/client/versions (10 ms poll at the container's bridge address)")
		fmt.Fprintln(stdout, "  total = harness.StartContainer: create, copy config, start, readiness (200 ms poll); stop = removing the container")
		fmt.Fprintln(stdout, "  CPU = cores busy over total: the container / the rest of the machine (Docker, kernel, anyone else; this process excluded)")
		if err := perf.WriteStarts(stdout, out.Starts); err != nil {
			return err
		}
	}
	if len(out.Push) > 0 {
		fmt.Fprintf(stdout, "\nPush: %d sender(s), at most %d sends in flight, %s per rate (at most %d events); latency = client PUT /send start -> start of the transaction carrying the event at the fake AS\n",
			out.Senders, out.Workers, out.Duration, out.MaxEvents)
		fmt.Fprintln(stdout, "  PUT = the send's round trip; 200→AS = its 200 -> arrival at the fake AS; CPU = cores busy from first send to last arrival: homeserver container / this process / rest of the machine (Docker, kernel, anyone else)")
		if err := perf.WritePush(stdout, out.Push); err != nil {
			return err
		}
		if svgPath != "" {
			day, _, _ := strings.Cut(out.Date, "T")
			chart := perf.PushChart(out.Push,
				fmt.Sprintf("%s %s, %d CPUs, %s", out.Flavor, imageVersion(out.Image), out.CPUs, day),
				fmt.Sprintf("%d senders, ≤%d sends in flight, %s per rate (≤%d events); labels: offered rate, max = closed loop.", out.Senders, out.Workers, out.Duration, out.MaxEvents),
				"Latency: client PUT .../send start → Start of the fake AS's transaction carrying the event (same clock).")
			if err := writeFile(svgPath, chart.WriteSVG); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "chart: %s\n", svgPath)
		}
	}
	fmt.Fprintf(stdout, "after: %s\nbench took %.1fs\n", out.After, out.Seconds)
	return nil
}

func parseRates(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		r, err := strconv.ParseFloat(f, 64)
		if err != nil || r < 0 {
			return nil, fmt.Errorf("-rates: %q is not a rate in events/s (0 = as fast as possible)", f)
		}
		out = append(out, r)
	}
	return out, nil
}

func imageVersion(ref string) string {
	if i := strings.LastIndex(ref, ":"); i >= 0 && !strings.Contains(ref[i:], "/") {
		return ref[i+1:]
	}
	return ref
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	return errors.Join(write(f), f.Close())
}
