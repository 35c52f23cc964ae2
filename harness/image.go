package harness

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/moby/moby/client"
)

// ResolveImage returns the image to run. With no image named, it uses the
// flavor's default, building it with the flavor's recipe when the recipe is
// in reach (the recipe itself skips the work when the image is current).
// progress receives the recipe's progress lines. An in-process flavor has
// no image: "".
func ResolveImage(ctx context.Context, flavor Flavor, image string, progress io.Writer) (string, error) {
	f, ok := flavor.(ContainerFlavor)
	if !ok {
		return "", nil
	}
	if image != "" && image != f.DefaultImage() {
		return image, nil
	}
	if f.Recipe() == "" {
		return f.DefaultImage(), nil
	}
	script, err := findInRepo(f.Recipe())
	if err != nil {
		return "", fmt.Errorf("harness: the default %s image %s is built by %s, which was not found (%v); run from the asconform checkout or name an image", f.Name(), f.DefaultImage(), f.Recipe(), err)
	}
	cmd := exec.CommandContext(ctx, "bash", script)
	cmd.Stderr = progress
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("harness: run %s: %w", script, err)
	}
	var last string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			last = line
			fmt.Fprintln(progress, line)
		}
	}
	if err := cmd.Wait(); err != nil {
		return "", fmt.Errorf("harness: building the %s image with %s failed: %w (its output is above)", f.Name(), script, err)
	}
	if last == "" {
		return "", errors.New("harness: image recipe printed no image reference")
	}
	return last, nil
}

// findInRepo is rel in the asconform source tree.
func findInRepo(rel string) (string, error) {
	root, err := SourceRoot()
	if err != nil {
		return "", err
	}
	p := filepath.Join(root, rel)
	if _, err := os.Stat(p); err != nil {
		return "", err
	}
	return p, nil
}

// SourceRoot is the asconform source tree: $ASCONFORM_ROOT (for a binary
// run outside it), else the nearest parent of the working directory whose
// go.mod is asconform's.
func SourceRoot() (string, error) {
	if root := os.Getenv("ASCONFORM_ROOT"); root != "" {
		return root, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(data), "module github.com/asconform/asconform\n") {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("%s is not inside the asconform source tree (set ASCONFORM_ROOT)", wd)
		}
	}
}

// GatewayIP is the host's address on Docker's default bridge: fakes listen
// there so that containers, and only they and the host, reach them.
func GatewayIP(ctx context.Context) (string, error) {
	docker, err := dockerClient(ctx)
	if err != nil {
		return "", err
	}
	defer docker.Close()
	nw, err := docker.NetworkInspect(ctx, "bridge", client.NetworkInspectOptions{})
	if err != nil {
		return "", fmt.Errorf("harness: inspect Docker's bridge network: %w", err)
	}
	for _, cfg := range nw.Network.IPAM.Config {
		if cfg.Gateway.IsValid() {
			return cfg.Gateway.String(), nil
		}
	}
	// Older engines leave the gateway out of IPAM: read the bridge's address.
	name := nw.Network.Options["com.docker.network.bridge.name"]
	if name == "" {
		name = "docker0"
	}
	iface, err := net.InterfaceByName(name)
	if err != nil {
		return "", fmt.Errorf("harness: Docker's bridge names no gateway and interface %s is not here (remote Docker? use external mode): %w", name, err)
	}
	addrs, _ := iface.Addrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
			return ipn.IP.String(), nil
		}
	}
	return "", fmt.Errorf("harness: interface %s has no IPv4 address", name)
}

// CheckDocker fails with one clear error when the Docker engine is not
// reachable.
func CheckDocker(ctx context.Context) error {
	docker, err := dockerClient(ctx)
	if err != nil {
		return err
	}
	defer docker.Close()
	if _, err := docker.Ping(ctx, client.PingOptions{}); err != nil {
		return fmt.Errorf("harness: Docker is not reachable (is the daemon running and DOCKER_HOST right?): %w", err)
	}
	return nil
}

// EnsureImage makes sure image is in the local engine, pulling it when it
// is not (for users with a registry); progress gets the pull's messages.
func EnsureImage(ctx context.Context, image string, progress io.Writer) error {
	docker, err := dockerClient(ctx)
	if err != nil {
		return err
	}
	defer docker.Close()
	if _, err := docker.ImageInspect(ctx, image); err == nil {
		return nil
	}
	pull, err := docker.ImagePull(ctx, image, client.ImagePullOptions{})
	if err == nil {
		for msg, merr := range pull.JSONMessages(ctx) {
			if merr == nil && msg.Error != nil {
				merr = errors.New(msg.Error.Message)
			}
			if merr != nil {
				err = merr
				break
			}
			if msg.Status != "" {
				fmt.Fprintln(progress, msg.ID, msg.Status)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("harness: image %s is not in the local Docker engine and could not be pulled: %v", image, firstLineOf(err.Error()))
	}
	return nil
}

func firstLineOf(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
