package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"

	"github.com/asconform/asconform/harness"
)

// Start kinds.
const (
	Warm = "warm" // the image as built
	Cold = "cold" // the same image started as after a fresh install (harness.Settings.ColdStart)
)

// StartOptions say which homeserver to start and how often.
type StartOptions struct {
	Flavor       harness.ContainerFlavor
	Image        string
	ServerName   string
	PerKind      int // starts of each kind; kinds alternate warm, cold, warm, ...
	ReadyTimeout time.Duration
	Progress     io.Writer // one line per start; nil for none
}

// StartResult is one fresh container's start.
type StartResult struct {
	Seq  int    `json:"seq"`
	Kind string `json:"kind"`
	// Ready: from the container's StartedAt (Docker's record of its process
	// start) to the first 200 on /_matrix/client/versions, polled every
	// 10 ms at the container's bridge address; 0 when not observed.
	Ready time.Duration `json:"ready_ns"`
	// Total: the whole harness.StartContainer call (create the container,
	// copy the config in, start, wait for /versions with the harness's
	// 200 ms poll), as a run pays it.
	Total time.Duration `json:"total_ns"`
	// Stop: removing the container afterwards.
	Stop time.Duration `json:"stop_ns"`
	// HSCPU: CPU time the container used up to the end of Total, per
	// second of Total (cores); RestCPU: the rest of the machine's busy CPU
	// over Total, this process excluded (Docker, kernel, anyone else).
	HSCPU   float64 `json:"hs_cpu_cores"`
	RestCPU float64 `json:"rest_cpu_cores"`
	Note    string  `json:"note,omitempty"`
}

const readyPath = "/_matrix/client/versions"

// MeasureStarts starts PerKind warm and PerKind cold containers, one at a
// time, alternating kinds, each with a fresh database, and removes each
// after it answered. The caller must run a harness.Janitor.
func MeasureStarts(ctx context.Context, opts StartOptions) ([]StartResult, error) {
	if opts.PerKind <= 0 {
		return nil, nil
	}
	spec, err := opts.Flavor.Container(harness.Settings{ServerName: opts.ServerName})
	if err != nil {
		return nil, err
	}
	docker, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return nil, fmt.Errorf("bench: Docker is not reachable: %w", err)
	}
	defer docker.Close()
	var results []StartResult
	for i := range 2 * opts.PerKind {
		kind := Warm
		if i%2 == 1 {
			kind = Cold
		}
		r, err := startOnce(ctx, docker, kind == Cold, opts, spec.Port)
		r.Seq, r.Kind = i+1, kind
		if ctx.Err() != nil {
			return results, fmt.Errorf("bench: interrupted during %s start %d: %w", kind, i+1, ctx.Err())
		}
		if err != nil {
			return results, fmt.Errorf("bench: %s start %d: %w", kind, i+1, err)
		}
		results = append(results, r)
		if opts.Progress != nil {
			fmt.Fprintf(opts.Progress, "start %d (%s): ready %s, total %s, stop %s%s\n", r.Seq, kind, Short(r.Ready), Short(r.Total), Short(r.Stop), noteSuffix(r.Note))
		}
	}
	return results, nil
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func noteSuffix(n string) string {
	if n == "" {
		return ""
	}
	return " (" + n + ")"
}

func startOnce(ctx context.Context, docker *testcontainers.DockerClient, cold bool, opts StartOptions, port int) (StartResult, error) {
	before, err := ownContainers(ctx, docker)
	if err != nil {
		return StartResult{}, err
	}
	wctx, cancelWatch := context.WithCancel(ctx)
	defer cancelWatch()
	watched := make(chan watchResult, 1)
	go func() { watched <- watchReady(wctx, docker, before, port) }()

	m0, t0 := sampleCPU(), time.Now()
	ctr, err := harness.StartContainer(ctx, harness.ContainerOptions{
		Flavor: opts.Flavor, Image: opts.Image, ReadyTimeout: opts.ReadyTimeout,
		Settings: harness.Settings{ServerName: opts.ServerName, ColdStart: cold},
	})
	total, m1 := time.Since(t0), sampleCPU()
	if err != nil {
		return StartResult{}, err
	}
	r := StartResult{Total: total}
	if n, err := othersRunning(ctx, docker); err == nil && n > 0 {
		r.Note = fmt.Sprintf("%d other container(s) running", n)
	}
	// The watcher polls faster than the harness; give it a moment to see
	// the 200 the harness already saw.
	select {
	case w := <-watched:
		if w.err != nil {
			r.Note = join(r.Note, "ready not observed: "+w.err.Error())
		} else {
			r.Ready = w.firstOK.Sub(w.startedAt)
			if hs := containerCPU(ctx, docker, w.id); hs >= 0 && m0.ok && m1.ok {
				r.HSCPU = float64(hs) / float64(total)
				r.RestCPU = max(0, float64(m1.machine-m0.machine-(m1.self-m0.self)-hs)/float64(total))
			}
		}
	case <-time.After(3 * time.Second):
		r.Note = join(r.Note, "ready not observed within 3s of the harness")
	}
	cancelWatch()
	t1 := time.Now()
	if err := ctr.Stop(context.WithoutCancel(ctx)); err != nil {
		return r, fmt.Errorf("stop: %w", err)
	}
	r.Stop = time.Since(t1)
	return r, nil
}

// ownContainers are the IDs of the containers this process's harness
// created (it labels them with our PID).
func ownContainers(ctx context.Context, docker *testcontainers.DockerClient) (map[string]bool, error) {
	filters := client.Filters{}.Add("label", harness.LabelPID+"="+strconv.Itoa(os.Getpid()))
	list, err := docker.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: filters})
	if err != nil {
		return nil, fmt.Errorf("bench: list containers: %w", err)
	}
	ids := map[string]bool{}
	for _, c := range list.Items {
		ids[c.ID] = true
	}
	return ids, nil
}

type watchResult struct {
	id                 string
	startedAt, firstOK time.Time
	err                error
}

// watchReady finds the container the harness is starting (ours, not in
// before), waits until Docker says it runs, and polls its readiness path
// at its bridge address every 10 ms.
func watchReady(ctx context.Context, docker *testcontainers.DockerClient, before map[string]bool, port int) watchResult {
	tick := func() error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
			return nil
		}
	}
	var id string
	for id == "" {
		now, err := ownContainers(ctx, docker)
		if err != nil {
			return watchResult{err: err}
		}
		for c := range now {
			if !before[c] {
				id = c
			}
		}
		if id == "" {
			if err := tick(); err != nil {
				return watchResult{err: errors.New("container not seen")}
			}
		}
	}
	var started time.Time
	var addr string
	for {
		// Docker may list a container it cannot inspect yet: retry.
		info, err := docker.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		st := info.Container.State
		if err == nil && st != nil && st.Running {
			if started, err = time.Parse(time.RFC3339Nano, st.StartedAt); err != nil {
				return watchResult{err: fmt.Errorf("StartedAt %q: %w", st.StartedAt, err)}
			}
			if ns := info.Container.NetworkSettings; ns != nil {
				for _, ep := range ns.Networks {
					if ep != nil && ep.IPAddress.IsValid() {
						addr = net.JoinHostPort(ep.IPAddress.String(), strconv.Itoa(port))
						break
					}
				}
			}
			break
		}
		if terr := tick(); terr != nil {
			if err != nil {
				return watchResult{err: fmt.Errorf("inspect: %w", err)}
			}
			return watchResult{err: errors.New("container never seen running")}
		}
	}
	if addr == "" {
		return watchResult{err: errors.New("container has no bridge address")}
	}
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+readyPath, nil)
		resp, err := hc.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return watchResult{id: id, startedAt: started, firstOK: time.Now()}
			}
		}
		if err := tick(); err != nil {
			return watchResult{err: fmt.Errorf("no 200 from %s", addr)}
		}
	}
}

// StartSummary condenses the starts of one kind.
type StartSummary struct {
	Kind                            string
	N                               int
	ReadyMin, ReadyMedian, ReadyMax time.Duration
	TotalMin, TotalMedian, TotalMax time.Duration
}

// SummarizeStarts groups results by kind (warm first).
func SummarizeStarts(results []StartResult) []StartSummary {
	var out []StartSummary
	for _, kind := range []string{Warm, Cold} {
		var ready, total []time.Duration
		for _, r := range results {
			if r.Kind != kind {
				continue
			}
			total = append(total, r.Total)
			if r.Ready > 0 {
				ready = append(ready, r.Ready)
			}
		}
		if len(total) == 0 {
			continue
		}
		sr, st := Summarize(ready), Summarize(total)
		out = append(out, StartSummary{
			Kind: kind, N: len(total),
			ReadyMin: sr.Min, ReadyMedian: Median(ready), ReadyMax: sr.Max,
			TotalMin: st.Min, TotalMedian: Median(total), TotalMax: st.Max,
		})
	}
	return out
}
