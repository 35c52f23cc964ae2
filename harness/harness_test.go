package harness

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/asconform/asconform/internal/csapi"
)

// These tests run the harness against minihs, a tiny misbehaving homeserver
// image built here from testdata, so they need Docker but no registry.

const minihsImage = "localhost/asconform/minihs:test"

type minihs struct{ mode string }

func (minihs) Name() string         { return "minihs" }
func (minihs) Side() string         { return "homeserver" }
func (minihs) DefaultImage() string { return minihsImage }
func (minihs) Recipe() string       { return "" }
func (m minihs) Container(Settings) (ContainerSpec, error) {
	return ContainerSpec{Env: map[string]string{"MINIHS_MODE": m.mode}, Port: 8008, Ready: HomeserverProbe}, nil
}

var buildOnce sync.Once
var buildErr error

// needMinihs builds the minihs image once, or skips without Docker.
func needMinihs(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("docker CLI not found")
	}
	if err := exec.Command("docker", "info").Run(); err != nil {
		t.Skip("Docker is not reachable")
	}
	buildOnce.Do(func() { buildErr = buildMinihs() })
	if buildErr != nil {
		t.Fatal(buildErr)
	}
}

func buildMinihs() error {
	dir, err := os.MkdirTemp("", "minihs")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "minihs")
	build := exec.Command("go", "build", "-o", bin, "./testdata/minihs")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return errors.New("build minihs: " + string(out))
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	// Reuse the image when the binary is unchanged (Go builds are
	// reproducible), so repeated runs leave no dangling images.
	sum := fmt.Sprintf("%x", sha256.Sum256(data))
	if out, err := exec.Command("docker", "image", "inspect", "--format", `{{index .Config.Labels "org.asconform.minihs"}}`, minihsImage).Output(); err == nil && strings.TrimSpace(string(out)) == sum {
		return nil
	}
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	_ = tw.WriteHeader(&tar.Header{Name: "minihs", Mode: 0o755, Size: int64(len(data))})
	_, _ = tw.Write(data)
	_ = tw.Close()
	imp := exec.Command("docker", "import", "--change", `ENTRYPOINT ["/minihs"]`, "--change", "LABEL org.asconform.minihs="+sum, "-", minihsImage)
	imp.Stdin = &layer
	if out, err := imp.CombinedOutput(); err != nil {
		return errors.New("docker import: " + string(out))
	}
	return nil
}

func start(t *testing.T, mode string, ready time.Duration) (*Container, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return StartContainer(ctx, ContainerOptions{Flavor: minihs{mode}, Image: minihsImage, ReadyTimeout: ready, Settings: Settings{ServerName: "minihs.test"}})
}

// ours lists this process's containers.
func ours(t *testing.T, run string) []string {
	t.Helper()
	ctx := context.Background()
	docker, err := dockerClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer docker.Close()
	list, err := docker.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", LabelRun+"="+run)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range list.Items {
		ids = append(ids, c.ID)
	}
	return ids
}

func TestContainerReadyAndStopped(t *testing.T) {
	needMinihs(t)
	c, err := start(t, "ok", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.BaseURL(), "http://") {
		t.Errorf("BaseURL = %q", c.BaseURL())
	}
	if logs := c.Logs(context.Background()); !strings.Contains(logs, "minihs: mode ok") {
		t.Errorf("logs do not hold the SUT's output: %q", logs)
	}
	if err := c.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if left := ours(t, runID); len(left) > 0 {
		t.Fatalf("containers left after Stop: %v", left)
	}
}

// Each broken SUT ends in an error that says what happened, with its log,
// and leaves no container behind.
func TestBrokenSUTs(t *testing.T) {
	needMinihs(t)
	cases := []struct {
		mode  string
		ready time.Duration
		want  []string
	}{
		{"crash", time.Minute, []string{"exited with code 3", "minihs: crashing on purpose"}},
		{"hang", 3 * time.Second, []string{"did not become ready within 3s", "minihs: mode hang"}},
		{"garbage", 3 * time.Second, []string{"did not become ready within 3s", "not json"}},
		{"slow", 3 * time.Second, []string{"did not become ready within 3s", "minihs: mode slow"}},
	}
	for _, c := range cases {
		t.Run(c.mode, func(t *testing.T) {
			_, err := start(t, c.mode, c.ready)
			if err == nil {
				t.Fatal("a broken SUT was reported ready")
			}
			if !errors.Is(err, ErrNotReady) {
				t.Errorf("error does not wrap ErrNotReady: %v", err)
			}
			// Only a SUT that ended by itself quit; one that timed out did not.
			if quit := c.mode == "crash"; errors.Is(err, ErrQuit) != quit {
				t.Errorf("errors.Is(err, ErrQuit) = %v for mode %s, want %v: %v", !quit, c.mode, quit, err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if left := ours(t, runID); len(left) > 0 {
				t.Fatalf("containers left after a failed start: %v", left)
			}
		})
	}
}

// The reaper removes a run's container however its process ends.
func TestReaperCleansUpAfterDeath(t *testing.T) {
	needMinihs(t)
	for _, how := range []string{"interrupt", "panic", "kill"} {
		t.Run(how, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestChildHoldingContainer$")
			cmd.Env = append(os.Environ(), "ASCONFORM_TEST_CHILD="+how)
			out, _ := cmd.StdoutPipe()
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var run string
			var said strings.Builder
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				said.WriteString(sc.Text() + "\n")
				if r, ok := strings.CutPrefix(sc.Text(), "RUN "); ok {
					run = r
					break
				}
			}
			if run == "" {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatalf("child never reported its run; it said:\n%s", said.String())
			}
			if len(ours(t, run)) != 1 {
				t.Fatalf("child's container is not running")
			}
			switch how {
			case "interrupt":
				_ = cmd.Process.Signal(syscall.SIGINT)
			case "kill":
				_ = cmd.Process.Kill()
			}
			go func() { _, _ = bufio.NewReader(out).WriteTo(&bytes.Buffer{}) }()
			_ = cmd.Wait()
			deadline := time.Now().Add(60 * time.Second) // hang guard, not a speed check
			for len(ours(t, run)) > 0 {
				if time.Now().After(deadline) {
					t.Fatalf("container of run %s still there after its process died by %s", run, how)
				}
				time.Sleep(200 * time.Millisecond)
			}
		})
	}
}

// TestChildHoldingContainer is the child of TestReaperCleansUpAfterDeath.
func TestChildHoldingContainer(t *testing.T) {
	how := os.Getenv("ASCONFORM_TEST_CHILD")
	if how == "" {
		t.Skip("only runs as a child process")
	}
	if _, err := StartJanitor(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := start(t, "ok", time.Minute); err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("RUN " + runID + "\n")
	if how == "panic" {
		panic("a spec panicked")
	}
	time.Sleep(5 * time.Minute) // until the parent ends us
}

// A SUT that dies mid-run: requests fail with a transport error (no hang,
// no panic), its log stays readable, and Stop still removes it.
func TestSUTCrashesMidRun(t *testing.T) {
	needMinihs(t)
	c, err := start(t, "ok", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("docker", "kill", c.ctr.GetContainerID()).CombinedOutput(); err != nil {
		t.Fatalf("docker kill: %v %s", err, out)
	}
	client := &csapi.Client{BaseURL: c.BaseURL(), HTTP: &http.Client{Timeout: 10 * time.Second}}
	if _, err := client.Do(context.Background(), http.MethodGet, "/_matrix/client/versions", nil); err == nil {
		t.Error("a request to a dead SUT succeeded")
	}
	if logs := c.Logs(context.Background()); !strings.Contains(logs, "minihs: mode ok") {
		t.Errorf("the log of a dead SUT is gone: %q", logs)
	}
	_ = c.Stop(context.Background())
	if left := ours(t, runID); len(left) > 0 {
		t.Fatalf("containers left: %v", left)
	}
}

// A SUT answering an enormous body: the client reads at most its limit.
func TestHugeBodyIsCapped(t *testing.T) {
	needMinihs(t)
	c, err := start(t, "ok", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Stop(context.Background()) }()
	client := &csapi.Client{BaseURL: c.BaseURL()}
	resp, err := client.Do(context.Background(), http.MethodGet, "/huge", nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(resp.Body); n != 8<<20 {
		t.Errorf("read %d bytes of a 64 MiB body, want the 8 MiB cap", n)
	}
}
