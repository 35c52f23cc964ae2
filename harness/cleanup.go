package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// Labels on everything the harness creates in Docker. A run is one process;
// the owner PID lets a later run tell abandoned resources from live ones.
const (
	LabelManaged = "org.asconform.managed"
	LabelRun     = "org.asconform.run"
	LabelPID     = "org.asconform.owner-pid"
)

// reaperEnv switches a re-executed copy of the current binary into reaper mode.
const reaperEnv = "ASCONFORM_REAPER_RUN"

func init() {
	// Ryuk cannot be pulled here; the harness does its own reaping.
	if os.Getenv("TESTCONTAINERS_RYUK_DISABLED") == "" {
		os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
	if run := os.Getenv(reaperEnv); run != "" {
		os.Exit(reap(run))
	}
}

// runID identifies this process's resources (those of no janitor of
// their own).
var runID = newRunID()

func newRunID() string { return fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano()) }

// runLabels label a resource of run (this process's when empty).
func runLabels(run string) map[string]string {
	if run == "" {
		run = runID
	}
	return map[string]string{LabelManaged: "true", LabelRun: run, LabelPID: strconv.Itoa(os.Getpid())}
}

// Janitor removes this run's Docker resources: on Close, and, through a
// detached reaper process, when this process dies without closing (Ctrl-C,
// a panic, go test -timeout).
type Janitor struct {
	run    string
	reaper *exec.Cmd
	stdin  io.WriteCloser
}

// StartJanitor sweeps resources abandoned by dead runs, then starts the
// reaper that watches this process.
func StartJanitor(ctx context.Context) (*Janitor, error) { return startJanitor(ctx, runID) }

// StartSeparateJanitor is a janitor of resources apart from the process's
// (started with Target.Run set to its Run): closing the process's janitor
// leaves them, as when one test of a process shares a SUT among child
// runs while another runs a suite in process.
func StartSeparateJanitor(ctx context.Context) (*Janitor, error) {
	return startJanitor(ctx, newRunID())
}

// Run names the janitor's resources (Target.Run).
func (j *Janitor) Run() string { return j.run }

func startJanitor(ctx context.Context, run string) (*Janitor, error) {
	if _, err := Sweep(ctx, Abandoned); err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("harness: locate own binary for the reaper: %w", err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), reaperEnv+"="+run)
	// Own session: Ctrl-C in the terminal must not kill the reaper too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("harness: reaper pipe: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("harness: start reaper: %w", err)
	}
	j := &Janitor{run: run, reaper: cmd, stdin: stdin}
	// If the pipe were garbage collected, its finalizer would close it and
	// the reaper would sweep a live run: keep it reachable until Close.
	liveMu.Lock()
	live[j] = true
	liveMu.Unlock()
	return j, nil
}

var (
	liveMu sync.Mutex
	live   = map[*Janitor]bool{}
)

// Close removes this run's resources and lets the reaper go.
func (j *Janitor) Close(ctx context.Context) error {
	_, err := Sweep(ctx, func(labels map[string]string) bool { return labels[LabelRun] == j.run })
	_ = j.stdin.Close()
	liveMu.Lock()
	delete(live, j)
	liveMu.Unlock()
	done := make(chan struct{})
	go func() { _ = j.reaper.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = j.reaper.Process.Kill()
	}
	return err
}

// reap waits until the parent closes our stdin (or dies), then removes
// every resource of the run.
func reap(run string) int {
	_, _ = io.Copy(io.Discard, os.Stdin)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := Sweep(ctx, func(labels map[string]string) bool { return labels[LabelRun] == run }); err != nil {
		fmt.Fprintln(os.Stderr, "asconform reaper:", err)
		return 1
	}
	return 0
}

// Abandoned matches resources whose owning process no longer exists.
func Abandoned(labels map[string]string) bool {
	pid, err := strconv.Atoi(labels[LabelPID])
	if err != nil || pid <= 0 {
		return true
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// All matches every resource asconform ever created; for `asconform clean`.
func All(map[string]string) bool { return true }

// Sweep force-removes containers and networks labelled as ours for which
// match is true, and returns how many it removed.
func Sweep(ctx context.Context, match func(labels map[string]string) bool) (int, error) {
	docker, err := dockerClient(ctx)
	if err != nil {
		return 0, err
	}
	defer docker.Close()
	filters := client.Filters{}.Add("label", LabelManaged+"=true")
	containers, err := docker.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: filters})
	if err != nil {
		return 0, fmt.Errorf("harness: list containers: %w", err)
	}
	removed := 0
	var errs []error
	for _, c := range containers.Items {
		if !match(c.Labels) {
			continue
		}
		if _, err := docker.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			if !goingAway(err) {
				errs = append(errs, fmt.Errorf("remove container %.12s: %w", c.ID, err))
			}
			continue
		}
		removed++
	}
	networks, err := docker.NetworkList(ctx, client.NetworkListOptions{Filters: filters})
	if err != nil {
		return removed, errors.Join(append(errs, fmt.Errorf("harness: list networks: %w", err))...)
	}
	for _, n := range networks.Items {
		if !match(n.Labels) {
			continue
		}
		if _, err := docker.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("remove network %s: %w", n.Name, err))
			continue
		}
		removed++
	}
	return removed, errors.Join(errs...)
}

// goingAway recognises a removal that lost a race with another sweeper
// (two janitors of one process, or a dead run's reaper): the container is
// gone or going, which is what the sweep wanted.
func goingAway(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "is already in progress") || strings.Contains(msg, "No such container")
}

func dockerClient(ctx context.Context) (*testcontainers.DockerClient, error) {
	docker, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return nil, fmt.Errorf("harness: Docker is not reachable (is the daemon running and DOCKER_HOST right?): %w", err)
	}
	return docker, nil
}
