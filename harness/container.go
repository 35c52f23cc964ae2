package harness

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// Container is a SUT (homeserver or application service) running in Docker.
type Container struct {
	ctr        *testcontainers.DockerContainer
	port       string // e.g. "8008/tcp"
	ready      Probe
	baseURL    string
	serverName string
}

// ContainerOptions say what to start and how long to wait for it.
type ContainerOptions struct {
	Flavor       ContainerFlavor
	Image        string
	Settings     Settings
	ReadyTimeout time.Duration
	Run          string // the janitor's run (Janitor.Run); "" for the process's
}

// HostAlias is the name under which containers reach the test process.
const HostAlias = "host.docker.internal"

// StartContainer starts the SUT and waits until it answers /versions. On
// failure the container is removed and the error carries its last log lines.
func StartContainer(ctx context.Context, opts ContainerOptions) (*Container, error) {
	spec, err := opts.Flavor.Container(opts.Settings)
	if err != nil {
		return nil, err
	}
	port := strconv.Itoa(spec.Port) + "/tcp"
	req := testcontainers.ContainerRequest{
		Image:        opts.Image,
		Entrypoint:   spec.Entrypoint,
		Cmd:          spec.Cmd,
		Env:          spec.Env,
		ExposedPorts: []string{port},
		LifecycleHooks: []testcontainers.ContainerLifecycleHooks{{
			PostCreates: []testcontainers.ContainerHook{func(ctx context.Context, c testcontainers.Container) error {
				return copyFiles(ctx, c.GetContainerID(), spec.Files)
			}},
		}},
		Labels: runLabels(opts.Run),
		HostConfigModifier: func(hc *container.HostConfig) {
			hc.ExtraHosts = append(hc.ExtraHosts, HostAlias+":host-gateway")
		},
	}
	ctr, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: req, Started: true, Logger: quietLogger{},
	})
	if err != nil {
		if ctr != nil {
			_ = ctr.Terminate(context.WithoutCancel(ctx))
		}
		return nil, fmt.Errorf("harness: start %s container from image %q: %w", opts.Flavor.Name(), opts.Image, err)
	}
	c := &Container{ctr: ctr.(*testcontainers.DockerContainer), port: port, ready: spec.Ready, serverName: opts.Settings.ServerName}
	if c.baseURL, err = c.endpoint(ctx); err != nil {
		// A SUT that exits at once has no published port: say it crashed.
		if dead := c.alive(ctx); dead != nil {
			err = fmt.Errorf("%w: %w", ErrNotReady, dead)
		}
	}
	if err == nil {
		err = waitReady(ctx, c.baseURL, spec.Ready, opts.ReadyTimeout, c.alive)
	}
	if err != nil {
		logs := c.Logs(context.WithoutCancel(ctx))
		c.fail(ctx)
		return nil, fmt.Errorf("harness: %s from image %q: %w\n--- last log lines ---\n%s", opts.Flavor.Name(), opts.Image, err, LastLines(logs, 30))
	}
	return c, nil
}

// endpoint is the SUT's base URL as the test process reaches it.
func (c *Container) endpoint(ctx context.Context) (string, error) {
	mapped, err := c.ctr.MappedPort(ctx, c.port)
	if err != nil {
		return "", fmt.Errorf("harness: find the mapped port of %s: %w", c.port, err)
	}
	return "http://" + net.JoinHostPort(publishedHost(), mapped.Port()), nil
}

// publishedHost is where Docker publishes container ports. testcontainers
// guesses the default route's gateway when it believes it runs inside a
// container, which is wrong on hosts that merely have /.dockerenv; we take
// its explicit override, then a tcp DOCKER_HOST, then loopback.
func publishedHost() string {
	if h := os.Getenv("TESTCONTAINERS_HOST_OVERRIDE"); h != "" {
		return h
	}
	if u, err := url.Parse(os.Getenv("DOCKER_HOST")); err == nil && u.Scheme == "tcp" && u.Hostname() != "" {
		return u.Hostname()
	}
	return "127.0.0.1"
}

func (c *Container) fail(ctx context.Context) { _ = c.Stop(context.WithoutCancel(ctx)) }

// alive fails once the container has exited, so a crashing SUT is reported
// at once instead of after the readiness timeout.
func (c *Container) alive(ctx context.Context) error {
	st, err := c.ctr.State(ctx)
	if err != nil {
		return fmt.Errorf("inspect container: %w", err)
	}
	if !st.Running {
		return fmt.Errorf("%w: container exited with code %d", ErrQuit, st.ExitCode)
	}
	return nil
}

func (c *Container) BaseURL() string    { return c.baseURL }
func (c *Container) ServerName() string { return c.serverName }

// Logs returns the container's stdout and stderr so far.
func (c *Container) Logs(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	rc, err := c.ctr.Logs(ctx)
	if err != nil {
		return fmt.Sprintf("(logs unavailable: %v)", err)
	}
	defer rc.Close()
	data, _ := io.ReadAll(io.LimitReader(rc, 16<<20))
	return string(data)
}

// Stop removes the container.
func (c *Container) Stop(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	timeout := 5 * time.Second
	return c.ctr.Terminate(ctx, testcontainers.StopTimeout(timeout))
}

// Restart stops and starts the same container (its database survives) and
// waits until it is ready again.
func (c *Container) Restart(ctx context.Context, readyTimeout time.Duration) error {
	timeout := 10 * time.Second
	if err := c.ctr.Stop(ctx, &timeout); err != nil {
		return fmt.Errorf("harness: stop for restart: %w", err)
	}
	if err := c.ctr.Start(ctx); err != nil {
		return fmt.Errorf("harness: start after restart: %w", err)
	}
	// Docker may map a different host port after a restart.
	endpoint, err := c.endpoint(ctx)
	if err != nil {
		return err
	}
	c.baseURL = endpoint
	return waitReady(ctx, c.baseURL, c.ready, readyTimeout, c.alive)
}

type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}

// copyFiles puts files into a created container in one archive: a copy
// per file took about 80 ms each, most of a minute for a homeserver with
// hundreds of registrations (the shared one of the mutation runs).
func copyFiles(ctx context.Context, id string, files map[string][]byte) error {
	var archive bytes.Buffer
	tw := tar.NewWriter(&archive)
	now := time.Now()
	for _, path := range slices.Sorted(maps.Keys(files)) {
		content := files[path]
		h := &tar.Header{Name: strings.TrimPrefix(path, "/"), Mode: 0o644, Size: int64(len(content)), ModTime: now, Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write(content); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	docker, err := dockerClient(ctx)
	if err != nil {
		return err
	}
	defer docker.Close()
	if _, err := docker.CopyToContainer(ctx, id, client.CopyToContainerOptions{DestinationPath: "/", Content: &archive}); err != nil {
		return fmt.Errorf("harness: copy %d files into the container: %w", len(files), err)
	}
	return nil
}
