package recorder_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asconform/asconform/internal/recorder"
)

// hangGuard bounds a test that would otherwise hang on a broken recorder.
const hangGuard = 30 * time.Second

func paths(es []recorder.Exchange) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Path)
	}
	return out
}

func seqs(es []recorder.Exchange) []int {
	var out []int
	for _, e := range es {
		out = append(out, e.Seq)
	}
	return out
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func filled(ps ...string) *recorder.Recorder {
	r := recorder.New()
	for _, p := range ps {
		r.Add(recorder.Exchange{Path: p})
	}
	return r
}

func TestAddAssignsSequenceInOrder(t *testing.T) {
	r := recorder.New()
	if r.Len() != 0 || len(r.All()) != 0 {
		t.Fatalf("new recorder not empty: Len=%d All=%v", r.Len(), r.All())
	}
	for i, p := range []string{"/a", "/b", "/c"} {
		got := r.Add(recorder.Exchange{Path: p, Seq: 99})
		if got.Seq != i+1 {
			t.Errorf("Add(%s) returned Seq %d, want %d", p, got.Seq, i+1)
		}
	}
	all := r.All()
	if !equal(paths(all), []string{"/a", "/b", "/c"}) || !equal(seqs(all), []int{1, 2, 3}) {
		t.Fatalf("All = %v / %v, want /a /b /c with Seq 1 2 3", paths(all), seqs(all))
	}
	if r.Len() != 3 {
		t.Errorf("Len = %d, want 3", r.Len())
	}
}

func TestAllReturnsACopy(t *testing.T) {
	r := filled("/a", "/b")
	all := r.All()
	all[0].Path = "/changed"
	_ = append(all[:1], recorder.Exchange{Path: "/injected"})
	if got := paths(r.All()); !equal(got, []string{"/a", "/b"}) {
		t.Fatalf("changing All's result changed the recorder: %v", got)
	}
}

func TestSince(t *testing.T) {
	r := filled("/a", "/b", "/c")
	tests := []struct {
		seq  int
		want []string
	}{
		{0, []string{"/a", "/b", "/c"}},
		{1, []string{"/b", "/c"}},
		{2, []string{"/c"}},
		{3, nil},
		{10, nil},
	}
	for _, tt := range tests {
		if got := paths(r.Since(tt.seq)); !equal(got, tt.want) {
			t.Errorf("Since(%d) = %v, want %v", tt.seq, got, tt.want)
		}
	}
	mark := r.Len()
	r.Add(recorder.Exchange{Path: "/d"})
	if got := paths(r.Since(mark)); !equal(got, []string{"/d"}) {
		t.Errorf("Since(Len() before the Add) = %v, want [/d]", got)
	}
}

func TestFilter(t *testing.T) {
	r := filled("/_matrix/app/v1/transactions/1", "/_matrix/app/v1/ping", "/_matrix/app/v1/transactions/2", "/other")
	tests := []struct {
		name string
		keep func(recorder.Exchange) bool
		want []string
	}{
		{"path prefix", recorder.PathPrefix("/_matrix/app/v1/transactions/"), []string{"/_matrix/app/v1/transactions/1", "/_matrix/app/v1/transactions/2"}},
		{"prefix matching nothing", recorder.PathPrefix("/nope"), nil},
		{"keep all", func(recorder.Exchange) bool { return true }, []string{"/_matrix/app/v1/transactions/1", "/_matrix/app/v1/ping", "/_matrix/app/v1/transactions/2", "/other"}},
		{"keep by seq", func(e recorder.Exchange) bool { return e.Seq%2 == 0 }, []string{"/_matrix/app/v1/ping", "/other"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := paths(r.Filter(tt.keep)); !equal(got, tt.want) {
				t.Errorf("Filter = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestConcurrentAdds(t *testing.T) {
	r := recorder.New()
	const n = 64
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.Add(recorder.Exchange{Path: "/x"})
			_ = r.All()
			_ = r.Len()
		}()
	}
	wg.Wait()
	if r.Len() != n {
		t.Fatalf("Len = %d after %d concurrent Adds", r.Len(), n)
	}
	for i, e := range r.All() {
		if e.Seq != i+1 {
			t.Fatalf("exchange %d has Seq %d: sequence numbers are not dense and ordered", i, e.Seq)
		}
	}
}

func TestWaitForReturnsAtOnceWhenConditionHolds(t *testing.T) {
	r := filled("/a")
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	got, err := r.WaitFor(ctx, func(es []recorder.Exchange) bool { return len(es) == 1 })
	if err != nil || !equal(paths(got), []string{"/a"}) {
		t.Fatalf("WaitFor = %v, %v; want [/a], nil", paths(got), err)
	}
}

func TestWaitForWakesOnConcurrentAdd(t *testing.T) {
	r := recorder.New()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()

	evaluated := make(chan int, 16) // one send per evaluation of the condition
	type result struct {
		es  []recorder.Exchange
		err error
	}
	done := make(chan result, 1)
	go func() {
		es, err := r.WaitFor(ctx, func(es []recorder.Exchange) bool {
			evaluated <- len(es)
			return len(es) >= 2
		})
		done <- result{es, err}
	}()

	next := func() int {
		t.Helper()
		select {
		case n := <-evaluated:
			return n
		case <-ctx.Done():
			t.Fatal("condition was not re-evaluated after an Add")
			return -1
		}
	}
	if n := next(); n != 0 {
		t.Fatalf("first evaluation saw %d exchanges, want 0", n)
	}
	r.Add(recorder.Exchange{Path: "/a"})
	if n := next(); n != 1 {
		t.Fatalf("evaluation after first Add saw %d exchanges, want 1", n)
	}
	select {
	case res := <-done:
		t.Fatalf("WaitFor returned before its condition held: %v, %v", paths(res.es), res.err)
	default:
	}
	r.Add(recorder.Exchange{Path: "/b"})
	select {
	case res := <-done:
		if res.err != nil || !equal(paths(res.es), []string{"/a", "/b"}) {
			t.Fatalf("WaitFor = %v, %v; want [/a /b], nil", paths(res.es), res.err)
		}
	case <-ctx.Done():
		t.Fatal("WaitFor did not return after its condition became true")
	}
}

func TestWaitForStopsWhenContextEnds(t *testing.T) {
	t.Run("cancel", func(t *testing.T) {
		r := filled("/a")
		ctx, cancel := context.WithCancel(context.Background())
		evaluated := make(chan struct{}, 16)
		done := make(chan error, 1)
		var got []recorder.Exchange
		go func() {
			var err error
			got, err = r.WaitFor(ctx, func([]recorder.Exchange) bool {
				evaluated <- struct{}{}
				return false
			})
			done <- err
		}()
		guard := time.NewTimer(hangGuard)
		defer guard.Stop()
		select {
		case <-evaluated:
		case <-guard.C:
			t.Fatal("condition never evaluated")
		}
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("WaitFor error = %v, want context.Canceled", err)
			}
			if !equal(paths(got), []string{"/a"}) {
				t.Errorf("WaitFor returned %v, want the last snapshot [/a]", paths(got))
			}
		case <-guard.C:
			t.Fatal("WaitFor did not return after its context was cancelled")
		}
	})
	t.Run("deadline already passed", func(t *testing.T) {
		r := recorder.New()
		ctx, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
		defer cancel()
		_, err := r.WaitFor(ctx, func([]recorder.Exchange) bool { return false })
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("WaitFor error = %v, want context.DeadlineExceeded", err)
		}
	})
	t.Run("condition already true beats a dead context", func(t *testing.T) {
		r := filled("/a")
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := r.WaitFor(ctx, func(es []recorder.Exchange) bool { return len(es) == 1 }); err != nil {
			t.Fatalf("WaitFor error = %v, want nil when the condition already holds", err)
		}
	})
}

func TestExchangeHelpers(t *testing.T) {
	start := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	e := recorder.Exchange{Body: []byte(`{"events":[{"type":"m.room.message"}]}`), Start: start, End: start.Add(1500 * time.Millisecond)}
	if d := e.Duration(); d != 1500*time.Millisecond {
		t.Errorf("Duration = %v, want 1.5s", d)
	}
	var v struct {
		Events []struct{ Type string } `json:"events"`
	}
	if err := e.JSON(&v); err != nil || len(v.Events) != 1 || v.Events[0].Type != "m.room.message" {
		t.Errorf("JSON = %+v, %v", v, err)
	}
	if err := (recorder.Exchange{Body: []byte("nope")}).JSON(&v); err == nil {
		t.Error("JSON accepted a body that is not JSON")
	}
}

func TestReadBody(t *testing.T) {
	req, err := http.NewRequest(http.MethodPut, "http://x/", strings.NewReader("payload"))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(recorder.ReadBody(req)); got != "payload" {
		t.Fatalf("ReadBody = %q, want payload", got)
	}
	again, err := io.ReadAll(req.Body)
	if err != nil || string(again) != "payload" {
		t.Fatalf("body not restored for the handler: %q, %v", again, err)
	}
	noBody, err := http.NewRequest(http.MethodGet, "http://x/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := recorder.ReadBody(noBody); len(got) != 0 {
		t.Errorf("ReadBody of a request without body = %q, want empty", got)
	}
}
