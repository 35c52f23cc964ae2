package homeserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/asconform/asconform/fakeas"
	"github.com/asconform/asconform/harness"
	"github.com/asconform/asconform/internal/matrix"
	"github.com/asconform/asconform/reports"
	"github.com/asconform/asconform/suites"
)

// A homeserver shared by child runs of the suite (the mutation runs on a
// real flavor): started once instead of once per mutant. Each child gets
// a pool of fake ASes of its own, registered before the homeserver
// started: the parent opens their listening sockets and hands them down,
// so no port changes hands between the start and the child's run, and no
// child sees another's (or an earlier child's) transactions.

// childPool is what a child of a shared homeserver reads from the file
// ASCONFORM_SHARED_HS names; its pool's sockets are its files 3, 4, …
type childPool struct {
	URL, ServerName string
	Registrations   []matrix.Registration
}

// SharedHomeserver is a homeserver started for several child runs.
type SharedHomeserver struct {
	deployment harness.Deployment
	janitor    *harness.Janitor // a container's own: a suite run in the same process sweeps the process's at its end
	children   map[string]sharedChild
}

type sharedChild struct {
	file    string     // its childPool
	sockets []*os.File // its pool's listening sockets, in registration order
}

// StartShared starts cfg's homeserver with a pool of fake-AS registrations
// for each named child run, writing what each child reads under dir.
func StartShared(ctx context.Context, cfg suites.Config, dir string, children []string) (*SharedHomeserver, error) {
	t, err := suites.Prepare(ctx, "homeserver", cfg)
	if err != nil {
		return nil, err
	}
	s := &SharedHomeserver{children: map[string]sharedChild{}}
	if t.Image != "" {
		if s.janitor, err = harness.StartSeparateJanitor(ctx); err != nil {
			return nil, err
		}
		t.Run = s.janitor.Run()
	}
	pools := map[string]childPool{}
	var regs []matrix.Registration
	for k, name := range children {
		var c sharedChild
		var pool childPool
		for i := 1; i <= poolSize+1; i++ {
			socket, port, err := listenSocket(t.Listen)
			if err != nil {
				s.children[name] = c // closed by Stop with the others
				_ = s.Stop(ctx)
				return nil, err
			}
			c.sockets = append(c.sockets, socket)
			reg := poolRegistration(i, k*(poolSize+1)+i, cfg.ServerName, fmt.Sprintf("http://%s:%d", t.Advertise, port), wantsMSC3202(cfg))
			pool.Registrations = append(pool.Registrations, reg)
			regs = append(regs, reg)
		}
		c.file = filepath.Join(dir, fmt.Sprintf("shared-hs-%d.json", k+1))
		s.children[name], pools[name] = c, pool
	}
	s.deployment, err = t.Start(ctx, harness.Settings{ServerName: cfg.ServerName, Registrations: regs, Extensions: cfg.Extensions()})
	if err != nil {
		_ = s.Stop(ctx)
		return nil, err
	}
	for name, pool := range pools {
		pool.URL, pool.ServerName = s.deployment.BaseURL(), s.deployment.ServerName()
		data, err := json.Marshal(pool)
		if err == nil {
			err = os.WriteFile(s.children[name].file, data, 0o600)
		}
		if err != nil {
			_ = s.Stop(ctx)
			return nil, err
		}
	}
	return s, nil
}

// listenSocket opens a listening TCP socket on host and returns it as a
// file a child process can inherit.
func listenSocket(host string) (*os.File, int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, 0, err
	}
	defer ln.Close() // the file is a duplicate: the socket stays open
	f, err := ln.(*net.TCPListener).File()
	return f, ln.Addr().(*net.TCPAddr).Port, err
}

// Child is what child run name needs: its environment and the sockets to
// hand down (suites.SubRun closes the parent's copies once the child
// started, so that a fake AS the child takes down refuses connections).
func (s *SharedHomeserver) Child(name string) (env []string, sockets []*os.File) {
	c := s.children[name]
	return []string{"ASCONFORM_SHARED_HS=" + c.file}, c.sockets
}

// Stop stops the homeserver, closes every socket still held and lets its
// janitor go (sweeping whatever is left).
func (s *SharedHomeserver) Stop(ctx context.Context) error {
	s.closeSockets()
	var errs []error
	if s.deployment != nil {
		errs = append(errs, s.deployment.Stop(ctx))
	}
	if s.janitor != nil {
		errs = append(errs, s.janitor.Close(ctx))
	}
	return errors.Join(errs...)
}

// closeSockets closes the sockets of children that never started.
func (s *SharedHomeserver) closeSockets() {
	for _, c := range s.children {
		for _, f := range c.sockets {
			_ = f.Close()
		}
	}
}

// joinShared is a child's start on a shared homeserver: its fake ASes
// serve on the sockets handed down, the homeserver is the parent's.
// Specs that need a homeserver of their own (OwnSUT) still start one.
func joinShared(ctx context.Context, cfg suites.Config) (*Env, error) {
	data, err := os.ReadFile(cfg.SharedHS)
	if err != nil {
		return nil, fmt.Errorf("ASCONFORM_SHARED_HS: %w", err)
	}
	var pool childPool
	if err := json.Unmarshal(data, &pool); err != nil {
		return nil, fmt.Errorf("ASCONFORM_SHARED_HS: %s: %w", cfg.SharedHS, err)
	}
	e := &Env{}
	suites.AtEnd(e.closeFakes)
	// The sockets first: the inherited files are not closed on exec, and
	// a process started before they are (the janitor) would keep a fake
	// AS listening after it was taken down.
	for i, reg := range pool.Registrations {
		f := os.NewFile(uintptr(3+i), reg.ID)
		ln, err := net.FileListener(f)
		_ = f.Close()
		if err != nil {
			return nil, fmt.Errorf("ASCONFORM_SHARED_HS: the socket of %s (file %d): %w", reg.ID, 3+i, err)
		}
		e.pool = append(e.pool, fakeas.Serve(ln, reg))
	}
	t, err := e.prepare(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := e.connect(ctx, cfg, reports.SUT{Side: "homeserver", Flavor: cfg.Flavor, Image: t.Image}, pool.URL, pool.ServerName); err != nil {
		return nil, err
	}
	suites.Phase("%s shared by the mutation runs at %s (%d fake ASes of this run)", t.Flavor.Name(), pool.URL, len(e.pool))
	return e, nil
}
