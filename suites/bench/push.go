package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"

	"github.com/asconform/asconform/fakeas"
	"github.com/asconform/asconform/harness"
	"github.com/asconform/asconform/internal/csapi"
	"github.com/asconform/asconform/internal/matrix"
	"github.com/asconform/asconform/internal/recorder"
	"github.com/asconform/asconform/scenarios"
)

// PushOptions configure the push benchmark.
type PushOptions struct {
	Flavor       harness.ContainerFlavor
	Image        string
	ServerName   string
	ReadyTimeout time.Duration
	// Rates are the offered send rates in events/s; 0 means as fast as
	// Workers concurrent sends go (closed loop).
	Rates []float64
	// Duration of each rate's sending; events = rate × Duration (at most
	// MaxEvents).
	Duration  time.Duration
	MaxEvents int
	Senders   int // users sending into the room
	Workers   int // sends in flight at most
	// Drain bounds the wait for the last events of a rate to arrive.
	Drain    time.Duration
	Progress io.Writer
}

// PushResult is one rate's outcome.
type PushResult struct {
	Offered   float64 `json:"offered_per_s"` // 0: closed loop
	Sent      int     `json:"sent"`          // sends answered 200
	Failed    int     `json:"failed"`        // sends not answered 200
	Delivered int     `json:"delivered"`     // sent events seen at the fake AS
	// SendRate is the achieved rate: sends started per second.
	SendRate float64 `json:"send_rate_per_s"`
	// Throughput: delivered events / (last arrival − first send start).
	Throughput float64 `json:"delivered_per_s"`
	// Latency: client's send start → Start of the first transaction
	// carrying the event at the fake AS.
	Latency Summary `json:"latency"`
	// SendRTT: the client's PUT round trip.
	SendRTT Summary `json:"send_rtt"`
	// AfterResponse: the client's 200 → the event's arrival at the fake AS
	// (negative when the push overtook the response).
	AfterResponse Summary `json:"after_response"`
	// Transactions carrying this rate's events; their total event counts
	// (other events included), mean and max.
	Txns         int     `json:"transactions"`
	EventsPerTxn float64 `json:"events_per_txn_mean"`
	MaxEventsTxn int     `json:"events_per_txn_max"`
	// HSCPU: CPU time the homeserver's container used per wall-clock
	// second, from the first send until the last event arrived (1 = one
	// core busy); 0 when not measured.
	HSCPU float64 `json:"hs_cpu_cores"`
	// SelfCPU: the same for this process (senders and fake AS);
	// MachineCPU: for the whole machine (all CPUs, everything not idle),
	// so MachineCPU − HSCPU − SelfCPU is what else ran: Docker's proxy and
	// daemon, the kernel, and anyone else's work.
	SelfCPU    float64 `json:"self_cpu_cores"`
	MachineCPU float64 `json:"machine_cpu_cores"`
	Note       string  `json:"note,omitempty"`
}

// Label names the rate for tables.
func (r PushResult) Label() string {
	if r.Offered == 0 {
		return "max"
	}
	return fmt.Sprintf("%g", r.Offered)
}

// sent is one send of the benchmark.
type sent struct {
	body        string
	start, done time.Time
	status      int
}

// arrival is where an event first reached the fake AS.
type arrival struct {
	at      time.Time
	txnPath string
}

// txnInfo is one transaction the fake AS received.
type txnInfo struct {
	path   string
	start  time.Time
	events int
	bodies []string // bench message bodies it carried
}

// PushEnv is a homeserver in a container with one fake AS registered and a
// bridged room: a normal user's room with one of the AS's ghosts joined.
type PushEnv struct {
	Container *harness.Container
	Fake      *fakeas.Server
	Room      string
	Senders   []*csapi.Client

	docker      *testcontainers.DockerClient
	containerID string // "" when not identified: no CPU figures
}

// Close stops the fake and the container.
func (e *PushEnv) Close(ctx context.Context) error {
	if e.Fake != nil {
		_ = e.Fake.Close()
	}
	if e.docker != nil {
		_ = e.docker.Close()
	}
	if e.Container != nil {
		return e.Container.Stop(context.WithoutCancel(ctx))
	}
	return nil
}

// StartPushEnv starts the homeserver with a fake AS listening on the Docker
// bridge and sets up the bridged room. The caller must run a
// harness.Janitor and Close the environment.
func StartPushEnv(ctx context.Context, opts PushOptions) (*PushEnv, error) {
	gateway, err := harness.GatewayIP(ctx)
	if err != nil {
		return nil, err
	}
	fake, err := fakeas.New(net.JoinHostPort(gateway, "0"), matrix.Registration{})
	if err != nil {
		return nil, err
	}
	env := &PushEnv{Fake: fake}
	reg := fakeas.Member(1).Registration(opts.ServerName, fmt.Sprintf("http://%s:%d", harness.HostAlias, fake.Port()))
	fake.SetRegistration(reg)
	ctr, err := harness.StartContainer(ctx, harness.ContainerOptions{
		Flavor: opts.Flavor, Image: opts.Image, ReadyTimeout: opts.ReadyTimeout,
		Settings: harness.Settings{ServerName: opts.ServerName, Registrations: []matrix.Registration{reg}},
	})
	if err != nil {
		_ = env.Close(ctx)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("bench: interrupted while starting the homeserver: %w", ctx.Err())
		}
		return nil, err
	}
	env.Container = ctr
	if env.docker, err = testcontainers.NewDockerClientWithOpts(ctx); err == nil {
		if ids, err := ownContainers(ctx, env.docker); err == nil && len(ids) == 1 {
			for id := range ids {
				env.containerID = id
			}
		}
	}
	if err := env.setUp(ctx, reg, max(1, opts.Senders), max(1, opts.Workers)); err != nil {
		_ = env.Close(ctx)
		return nil, fmt.Errorf("bench: setting up the bridged room: %w", err)
	}
	return env, nil
}

func (e *PushEnv) setUp(ctx context.Context, reg matrix.Registration, senders, workers int) error {
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: workers, MaxIdleConnsPerHost: workers, DisableCompression: true,
	}}
	base := e.Container.BaseURL()
	unique := fmt.Sprint(time.Now().UnixNano() % 1e9)
	for i := range senders {
		anon := &csapi.Client{BaseURL: base, HTTP: hc}
		resp, err := anon.Register(ctx, fmt.Sprintf("bench_sender%d_%s", i, unique), "pw-"+unique)
		if err := scenarios.Answered(resp, err); err != nil {
			return fmt.Errorf("register a sender: %w", err)
		}
		e.Senders = append(e.Senders, &csapi.Client{BaseURL: base, HTTP: hc, Token: resp.Field("access_token")})
	}
	as := &csapi.Client{BaseURL: base, HTTP: hc, Token: reg.ASToken}
	resp, err := as.RegisterAS(ctx, fakeas.Member(1).Prefix()+"bench_ghost"+unique, true)
	if err := scenarios.Answered(resp, err); err != nil {
		return fmt.Errorf("register the AS ghost: %w", err)
	}
	ghost := resp.Field("user_id")
	if e.Room, err = scenarios.BridgeRoom(ctx, as, e.Senders[0], ghost); err != nil {
		return fmt.Errorf("bridge a room: %w", err)
	}
	for _, s := range e.Senders[1:] {
		resp, err = s.Join(ctx, e.Room)
		if err := scenarios.Answered(resp, err); err != nil {
			return fmt.Errorf("join a sender: %w", err)
		}
	}
	return nil
}

// MeasurePush warms the push path up, then sends at each rate in turn.
func MeasurePush(ctx context.Context, env *PushEnv, opts PushOptions) ([]PushResult, error) {
	col := &collector{arrivals: map[string]arrival{}}
	// Warm-up: a few sequential sends, not measured; the first push of a
	// fresh homeserver is slower than the rest.
	warm := runSends(ctx, env, "warmup", 1, 5, 1, time.Minute)
	if err := col.waitAll(ctx, env.Fake.Recorder(), warm, 20*time.Second); err != nil {
		return nil, fmt.Errorf("bench: warm-up events never reached the fake AS: %w", err)
	}
	var out []PushResult
	for _, rate := range opts.Rates {
		tag := "r" + strings.ReplaceAll(fmt.Sprintf("%g", rate), ".", "_")
		n := opts.MaxEvents
		if rate > 0 {
			n = min(n, max(1, int(rate*opts.Duration.Seconds()+0.5)))
		}
		cpu0, m0, t0 := env.cpuTime(ctx), sampleCPU(), time.Now()
		sends := runSends(ctx, env, tag, rate, n, opts.Workers, opts.Duration)
		waitErr := col.waitAll(ctx, env.Fake.Recorder(), sends, opts.Drain)
		cpu1, m1, t1 := env.cpuTime(ctx), sampleCPU(), time.Now()
		r := col.result(rate, sends)
		wall := float64(t1.Sub(t0))
		if cpu0 >= 0 && cpu1 >= cpu0 {
			r.HSCPU = float64(cpu1-cpu0) / wall
		}
		if env.docker != nil {
			if n, err := othersRunning(ctx, env.docker); err == nil && n > 0 {
				r.Note = join(r.Note, fmt.Sprintf("%d other container(s) running", n))
			}
		}
		if m0.ok && m1.ok {
			r.SelfCPU = float64(m1.self-m0.self) / wall
			r.MachineCPU = float64(m1.machine-m0.machine) / wall
		}
		if waitErr != nil {
			r.Note = join(r.Note, fmt.Sprintf("%d not delivered within %s", r.Sent-r.Delivered, opts.Drain))
		}
		out = append(out, r)
		if opts.Progress != nil {
			fmt.Fprintf(opts.Progress, "push %s: %d sent at %.1f/s, %d delivered, p50 %s p99 %s, %.2f events/txn\n",
				rateLabel(r), r.Sent, r.SendRate, r.Delivered, Short(r.Latency.P50), Short(r.Latency.P99), r.EventsPerTxn)
		}
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		// Let the homeserver's queue empty before the next rate.
		time.Sleep(500 * time.Millisecond)
	}
	return out, nil
}

// cpuTime is the CPU time the homeserver's container used so far, or -1.
func (e *PushEnv) cpuTime(ctx context.Context) time.Duration {
	if e.containerID == "" {
		return -1
	}
	return containerCPU(ctx, e.docker, e.containerID)
}

// containerCPU is the CPU time a container used so far (cgroup accounting
// through Docker's stats), or -1.
func containerCPU(ctx context.Context, docker *testcontainers.DockerClient, id string) time.Duration {
	res, err := docker.ContainerStats(ctx, id, client.ContainerStatsOptions{})
	if err != nil {
		return -1
	}
	defer res.Body.Close()
	var st container.StatsResponse
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil || st.CPUStats.CPUUsage.TotalUsage == 0 {
		return -1
	}
	return time.Duration(st.CPUStats.CPUUsage.TotalUsage)
}

// runSends sends n messages: open loop at rate events/s (each send starts
// at its scheduled time, or as soon as one of workers is free), or, for
// rate 0, closed loop with workers sends in flight. Sending stops after
// limit even if fewer than n went out.
func runSends(ctx context.Context, env *PushEnv, tag string, rate float64, n, workers int, limit time.Duration) []sent {
	results := make([]sent, n)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := range max(1, workers) {
		wg.Go(func() {
			for i := range jobs {
				c := env.Senders[(i+w)%len(env.Senders)]
				s := sent{body: fmt.Sprintf("asc-bench %s #%d", tag, i), start: time.Now()}
				resp, err := c.SendMessage(ctx, env.Room, s.body)
				s.done = time.Now()
				if err == nil {
					s.status = resp.Status
				}
				results[i] = s
			}
		})
	}
	t0 := time.Now()
	deadline := t0.Add(limit)
	for i := range n {
		if rate > 0 {
			at := t0.Add(time.Duration(float64(i) / rate * float64(time.Second)))
			if d := time.Until(at); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
				}
			}
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	var out []sent
	for _, s := range results {
		if !s.start.IsZero() {
			out = append(out, s)
		}
	}
	return out
}

// collector decodes what the fake AS received, incrementally.
type collector struct {
	seen     int // recorder exchanges decoded so far
	arrivals map[string]arrival
	txns     []txnInfo
}

func (c *collector) update(rec *recorder.Recorder) {
	for _, e := range rec.Since(c.seen) {
		c.seen = e.Seq
		c.add(e)
	}
}

func (c *collector) add(e recorder.Exchange) {
	if e.Method != http.MethodPut || !strings.HasPrefix(e.Path, "/_matrix/app/v1/transactions/") {
		return
	}
	var txn matrix.Transaction
	if err := json.Unmarshal(e.Body, &txn); err != nil {
		return
	}
	ti := txnInfo{path: e.Path, start: e.Start, events: len(txn.Events)}
	for _, ev := range txn.Events {
		if ev.Type != "m.room.message" {
			continue
		}
		var content struct {
			Body string `json:"body"`
		}
		if json.Unmarshal(ev.Content, &content) != nil || !strings.HasPrefix(content.Body, "asc-bench ") {
			continue
		}
		ti.bodies = append(ti.bodies, content.Body)
		if _, dup := c.arrivals[content.Body]; !dup { // a retry keeps the first arrival
			c.arrivals[content.Body] = arrival{at: e.Start, txnPath: e.Path}
		}
	}
	c.txns = append(c.txns, ti)
}

// waitAll waits until every successful send has arrived, or for at most limit.
func (c *collector) waitAll(ctx context.Context, rec *recorder.Recorder, sends []sent, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		c.update(rec)
		missing := 0
		for _, s := range sends {
			if s.status == http.StatusOK {
				if _, ok := c.arrivals[s.body]; !ok {
					missing++
				}
			}
		}
		if missing == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d event(s) missing: %w", missing, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// result computes one rate's figures from its sends and the arrivals.
func (c *collector) result(rate float64, sends []sent) PushResult {
	r := PushResult{Offered: rate}
	var lat, rtt, after []time.Duration
	var firstSend, lastSend, lastArrival time.Time
	bodies := map[string]bool{}
	for _, s := range sends {
		if firstSend.IsZero() || s.start.Before(firstSend) {
			firstSend = s.start
		}
		if s.start.After(lastSend) {
			lastSend = s.start
		}
		if s.status != http.StatusOK {
			r.Failed++
			continue
		}
		r.Sent++
		rtt = append(rtt, s.done.Sub(s.start))
		bodies[s.body] = true
		if a, ok := c.arrivals[s.body]; ok {
			r.Delivered++
			lat = append(lat, a.at.Sub(s.start))
			after = append(after, a.at.Sub(s.done))
			if a.at.After(lastArrival) {
				lastArrival = a.at
			}
		}
	}
	if n := len(sends); n > 1 && lastSend.After(firstSend) {
		// n sends started over n-1 intervals.
		r.SendRate = float64(n-1) / lastSend.Sub(firstSend).Seconds()
	}
	if r.Delivered > 0 && lastArrival.After(firstSend) {
		r.Throughput = float64(r.Delivered) / lastArrival.Sub(firstSend).Seconds()
	}
	r.Latency, r.SendRTT, r.AfterResponse = Summarize(lat), Summarize(rtt), Summarize(after)
	total := 0
	for _, t := range c.txns {
		mine := false
		for _, b := range t.bodies {
			if bodies[b] {
				mine = true
				break
			}
		}
		if !mine {
			continue
		}
		r.Txns++
		total += t.events
		r.MaxEventsTxn = max(r.MaxEventsTxn, t.events)
	}
	if r.Txns > 0 {
		r.EventsPerTxn = float64(total) / float64(r.Txns)
	}
	return r
}
