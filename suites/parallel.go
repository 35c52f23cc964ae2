package suites

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/onsi/ginkgo/v2"
)

// Under `ginkgo -p` each process runs its share of the specs with its own
// fake ASes, and all of them share one SUT that process 1 starts: the
// processes meet in a Rendezvous directory, where each leaves its
// registrations and process 1 leaves the SUT's address.

// Parallel returns this process's number and the number of processes
// (1 and 1 when the specs run serially, as under go test).
func Parallel() (proc, total int) {
	c, _ := ginkgo.GinkgoConfiguration()
	return max(c.ParallelProcess, 1), max(c.ParallelTotal, 1)
}

// Rendezvous is a directory the processes of one parallel run share.
type Rendezvous struct{ dir string }

// NewRendezvous is side's rendezvous for the current parallel run, named
// after the run's coordinating ginkgo process so that runs never meet.
func NewRendezvous(side string) (Rendezvous, error) {
	c, _ := ginkgo.GinkgoConfiguration()
	key := sha256.Sum256([]byte(c.ParallelHost + "|" + strconv.Itoa(os.Getppid())))
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("asconform-%s-%x", side, key[:6]))
	return Rendezvous{dir: dir}, os.MkdirAll(dir, 0o700)
}

// Put leaves v under name, whole or not at all.
func (r Rendezvous) Put(name string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := filepath.Join(r.dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(r.dir, name))
}

// Get waits for name to be left, then decodes it into v.
func (r Rendezvous) Get(ctx context.Context, name string, v any) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		data, err := os.ReadFile(filepath.Join(r.dir, name))
		switch {
		case err == nil:
			return json.Unmarshal(data, v)
		case !errors.Is(err, fs.ErrNotExist):
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s from another parallel process: %w", name, context.Cause(ctx))
		case <-tick.C:
		}
	}
}

// Remove deletes the rendezvous directory.
func (r Rendezvous) Remove() error { return os.RemoveAll(r.dir) }

var (
	eagerMu sync.Mutex
	eager   []func(context.Context)
)

// StartEagerly starts an environment before the first spec when the specs
// run in parallel: process 1 must start the shared SUT even if no spec
// lands on it, and the other processes must leave their registrations.
// Errors stay in the environment, for its specs to report.
func StartEagerly[T any](l *Lazy[T]) {
	eagerMu.Lock()
	defer eagerMu.Unlock()
	eager = append(eager, func(ctx context.Context) { _, _ = l.Get(ctx) })
}

var _ = ginkgo.BeforeSuite(func(ctx ginkgo.SpecContext) {
	if _, total := Parallel(); total == 1 {
		return
	}
	eagerMu.Lock()
	starts := eager
	eagerMu.Unlock()
	for _, start := range starts {
		start(ctx)
	}
}, ginkgo.NodeTimeout(30*time.Minute))
