package bench_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asconform/asconform/fakeas"
	"github.com/asconform/asconform/internal/matrix"
	"github.com/asconform/asconform/suites/bench"
)

// smallTxn is a small transaction as a homeserver pushes it: one message
// event (about 240 bytes).
var smallTxn = []byte(`{"events":[{"event_id":"$bench1:asconform.test","type":"m.room.message",` +
	`"room_id":"!bench:asconform.test","sender":"@alice:asconform.test","origin_server_ts":1700000000000,` +
	`"content":{"msgtype":"m.text","body":"hello from the benchmark"}}]}`)

const hsToken = "hs_benchtoken"

// target is a server under measurement on loopback.
type target struct {
	name  string
	url   string // base URL
	close func()
	// recorded reports how many requests the server recorded (-1: it does not record).
	recorded func() int
	fake     *fakeas.Server
}

func startFake(tb testing.TB) target {
	tb.Helper()
	reg := matrix.Registration{ID: "bench", HSToken: hsToken, ASToken: "as_benchtoken", SenderLocalpart: "bench"}
	fake, err := fakeas.New("127.0.0.1:0", reg)
	if err != nil {
		tb.Fatal(err)
	}
	return target{
		name: "fakeas", url: "http://127.0.0.1:" + strconv.Itoa(fake.Port()),
		close:    func() { _ = fake.Close() },
		recorded: func() int { return fake.Recorder().Len() },
		fake:     fake,
	}
}

// startBare is the baseline: a bare net/http handler that reads the body
// and returns {}.
func startBare(tb testing.TB) target {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "2")
		_, _ = w.Write([]byte("{}"))
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return target{
		name: "bare", url: "http://" + ln.Addr().String(),
		close:    func() { _ = srv.Close() },
		recorded: func() int { return -1 },
	}
}

// keepAlive is a client holding at most conns connections to one host.
func keepAlive(conns int) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns,
			DisableCompression: true, IdleConnTimeout: time.Minute,
		},
		Timeout: 30 * time.Second,
	}
}

// putTxn sends one transaction and fails unless it is acknowledged with 200.
func putTxn(c *http.Client, base, txnID string) error {
	req, err := http.NewRequest(http.MethodPut, base+"/_matrix/app/v1/transactions/"+txnID, bytes.NewReader(smallTxn))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+hsToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("PUT transaction %s: status %d", txnID, resp.StatusCode)
	}
	return nil
}

// BenchmarkTransactions: small transactions PUT by `clients` concurrent
// keep-alive clients (one connection each) to the fake AS and, for
// comparison, to a bare handler. One op is one transaction. Reports
// txn/s, the round-trip latency percentiles seen by the clients under that
// load, and the CPU time per transaction of this process (clients and
// server together); for the fake it checks that every transaction was
// recorded.
func BenchmarkTransactions(b *testing.B) {
	for _, server := range []string{"bare", "fakeas"} {
		for _, clients := range []int{1, 4, 16} {
			b.Run(fmt.Sprintf("server=%s/clients=%d", server, clients), func(b *testing.B) {
				start := map[string]func(testing.TB) target{"bare": startBare, "fakeas": startFake}[server]
				t := start(b)
				defer t.close()
				hc := keepAlive(clients)
				defer hc.CloseIdleConnections()
				// Open the connections before timing.
				for i := range clients {
					if err := putTxn(hc, t.url, fmt.Sprintf("warm%d", i)); err != nil {
						b.Fatal(err)
					}
				}
				before := t.recorded()
				lat := make([]time.Duration, b.N)
				var next atomic.Int64
				var failed atomic.Value
				var wg sync.WaitGroup
				b.ReportAllocs()
				cpu0, _ := bench.ProcessCPU()
				b.ResetTimer()
				for range clients {
					wg.Go(func() {
						for {
							i := int(next.Add(1)) - 1
							if i >= b.N {
								return
							}
							start := time.Now()
							if err := putTxn(hc, t.url, "b"+strconv.Itoa(i)); err != nil {
								failed.Store(err)
								return
							}
							lat[i] = time.Since(start)
						}
					})
				}
				wg.Wait()
				b.StopTimer()
				cpu1, cpuOK := bench.ProcessCPU()
				if err, _ := failed.Load().(error); err != nil {
					b.Fatal(err)
				}
				if before >= 0 {
					if got := t.recorded() - before; got != b.N {
						b.Fatalf("the fake recorded %d of %d transactions", got, b.N)
					}
				}
				s := bench.Summarize(lat)
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "txn/s")
				b.ReportMetric(bench.Micros(s.P50), "p50-µs")
				b.ReportMetric(bench.Micros(s.P99), "p99-µs")
				if cpuOK {
					// Client and server together: both run in this process.
					b.ReportMetric(bench.Micros(cpu1-cpu0)/float64(b.N), "cpu-µs/txn")
				}
			})
		}
	}
}

// BenchmarkAddedLatency: one keep-alive client alternates requests to the
// bare handler and to the fake AS (so both see the same machine state) and
// reports both latency distributions, their difference at p50 and p99
// ("added"), and the time the fake spent inside its handler (recorded
// Start to End). One op is one pair of requests.
func BenchmarkAddedLatency(b *testing.B) {
	bare, fake := startBare(b), startFake(b)
	defer bare.close()
	defer fake.close()
	hcBare, hcFake := keepAlive(1), keepAlive(1)
	defer hcBare.CloseIdleConnections()
	defer hcFake.CloseIdleConnections()
	for i := range 100 { // warm connections and code paths
		if err := putTxn(hcBare, bare.url, "w"+strconv.Itoa(i)); err != nil {
			b.Fatal(err)
		}
		if err := putTxn(hcFake, fake.url, "w"+strconv.Itoa(i)); err != nil {
			b.Fatal(err)
		}
	}
	mark := fake.recorded()
	latBare := make([]time.Duration, b.N)
	latFake := make([]time.Duration, b.N)
	b.ResetTimer()
	for i := range b.N {
		id := "a" + strconv.Itoa(i)
		start := time.Now()
		if err := putTxn(hcBare, bare.url, id); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		if err := putTxn(hcFake, fake.url, id); err != nil {
			b.Fatal(err)
		}
		latBare[i], latFake[i] = mid.Sub(start), time.Since(mid)
	}
	b.StopTimer()
	var inHandler []time.Duration
	for _, e := range fake.fake.Recorder().Since(mark) {
		inHandler = append(inHandler, e.Duration())
	}
	if len(inHandler) != b.N {
		b.Fatalf("the fake recorded %d of %d transactions", len(inHandler), b.N)
	}
	sb, sf, sh := bench.Summarize(latBare), bench.Summarize(latFake), bench.Summarize(inHandler)
	b.ReportMetric(bench.Micros(sb.P50), "bare-p50-µs")
	b.ReportMetric(bench.Micros(sb.P99), "bare-p99-µs")
	b.ReportMetric(bench.Micros(sf.P50), "p50-µs")
	b.ReportMetric(bench.Micros(sf.P99), "p99-µs")
	b.ReportMetric(bench.Micros(sf.P50-sb.P50), "added-p50-µs")
	b.ReportMetric(bench.Micros(sf.P99-sb.P99), "added-p99-µs")
	b.ReportMetric(bench.Micros(sh.P50), "handler-p50-µs")
	b.ReportMetric(bench.Micros(sh.P99), "handler-p99-µs")
}
