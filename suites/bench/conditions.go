package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"

	"github.com/asconform/asconform/harness"
)

// Conditions describes what else loads the machine, so a figure can be read
// with it: the load averages and the containers running that are not ours.
func Conditions(ctx context.Context) string {
	load := "load average unknown"
	if data, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(data)); len(f) >= 3 {
			load = "load average " + strings.Join(f[:3], " ")
		}
	}
	others := "other containers unknown"
	if docker, err := testcontainers.NewDockerClientWithOpts(ctx); err == nil {
		defer docker.Close()
		if n, err := othersRunning(ctx, docker); err == nil {
			others = fmt.Sprintf("%d other container(s) running", n)
		}
	}
	return load + ", " + others
}

// othersRunning counts the running containers this process did not start.
func othersRunning(ctx context.Context, docker *testcontainers.DockerClient) (int, error) {
	list, err := docker.ContainerList(ctx, client.ContainerListOptions{})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range list.Items {
		if c.Labels[harness.LabelPID] != strconv.Itoa(os.Getpid()) {
			n++
		}
	}
	return n, nil
}
