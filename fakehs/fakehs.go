// Package fakehs is a homeserver in the test process: it plays the
// homeserver side for an application service under test and behaves as a
// compliant reference homeserver (spec v1.19) for everything the AS API
// touches. It serves the client-server endpoints an AS uses over a small
// in-memory model, pushes events to the AS in transactions, queries the AS
// about unknown users and aliases, and lets specs drive any call to the AS
// by hand. Every request in either direction is recorded.
package fakehs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asconform/asconform/internal/matrix"
	"github.com/asconform/asconform/internal/recorder"
)

// Config sets up a Server. The zero value of every field is a usable default.
type Config struct {
	// ServerName is the homeserver's server name; default "hs.test".
	ServerName string
	// Registrations are the application services the homeserver knows.
	// A registration's URL is where the homeserver reaches that AS.
	Registrations []matrix.Registration
	// HTTPClient makes every call to application services. Its Timeout
	// decides when a ping answers 504 and when a query attempt gives up.
	// Default: a client with a 30 s timeout.
	HTTPClient *http.Client
	// Backoff is the delay before the first retry of a failed transaction;
	// it doubles on every further failure, up to MaxBackoff. Defaults 2 s
	// and 5 min.
	Backoff    time.Duration
	MaxBackoff time.Duration
	// QueryAttempts is how often a user or alias query is tried when the AS
	// does not answer before the client gets 408; default 3.
	QueryAttempts int
	// BatchSize caps the events of one transaction; default 100.
	BatchSize int
	// Clock stamps events and times retries; default the system clock.
	Clock Clock
	// LegacyQueryToken also sends the hs_token as ?access_token= on calls
	// to the AS, as for services built against spec versions before v1.4.
	LegacyQueryToken bool
	// NoLegacyLogin makes the server one without the legacy authentication
	// API (spec v1.17): /login with m.login.application_service and AS
	// registration without inhibit_login fail with M_APPSERVICE_LOGIN_UNSUPPORTED.
	NoLegacyLogin bool
	// ManualDelivery turns automatic transaction delivery off, for specs
	// that push every transaction themselves.
	ManualDelivery bool
}

// Clock is the time source of the fake; tests replace it so that retries do
// not wait real seconds.
type Clock interface {
	Now() time.Time
	// Sleep waits d or until ctx ends, whichever is first.
	Sleep(ctx context.Context, d time.Duration) error
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Server is one fake homeserver.
type Server struct {
	cfg Config
	rec *recorder.Recorder
	mux *http.ServeMux

	// life is what a Restart throws away: the listener, in-flight requests
	// and the delivery workers.
	lifeMu sync.Mutex
	addr   string
	life   *life
	closed bool

	// noLegacyLogin starts as cfg.NoLegacyLogin; SetLegacyLogin changes it.
	noLegacyLogin atomic.Bool

	mu      sync.Mutex // guards everything below; never held during HTTP calls
	changed chan struct{}
	ases    []*appservice
	model
	// strict judges the AS's requests in strict mode (strict.go).
	strict     Rule
	unexpected []string
}

type life struct {
	listener net.Listener
	http     *http.Server
	ctx      context.Context
	cancel   context.CancelFunc
	workers  sync.WaitGroup
	pushing  map[*appservice]bool
}

// New starts a fake homeserver listening on listenAddr (e.g. "127.0.0.1:0").
// It refuses registrations that share an id or an as_token, as the spec
// requires of homeservers.
func New(listenAddr string, cfg Config) (*Server, error) {
	if cfg.ServerName == "" {
		cfg.ServerName = "hs.test"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 2 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Minute
	}
	if cfg.QueryAttempts <= 0 {
		cfg.QueryAttempts = 3
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 100
	}
	if cfg.Clock == nil {
		cfg.Clock = systemClock{}
	}
	s := &Server{cfg: cfg, rec: recorder.New(), changed: make(chan struct{}), model: newModel()}
	s.noLegacyLogin.Store(cfg.NoLegacyLogin)
	ids := map[string]bool{}
	for _, reg := range cfg.Registrations {
		if ids[reg.ID] {
			return nil, fmt.Errorf("fakehs: two registrations have the id %q", reg.ID)
		}
		ids[reg.ID] = true
		if err := s.SetRegistration(reg); err != nil {
			return nil, err
		}
	}
	s.mux = s.routes()
	s.addr = listenAddr
	if err := s.start(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) start() error {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("fakehs: listen on %s: %w", s.addr, err)
	}
	// A restart comes back on the same port, so the AS keeps its URL.
	s.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	l := &life{listener: ln, ctx: ctx, cancel: cancel, pushing: map[*appservice]bool{}}
	l.http = &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.serve(l, w, r) }),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = l.http.Serve(ln) }()
	s.life = l
	if !s.cfg.ManualDelivery {
		s.mu.Lock()
		ases := append([]*appservice(nil), s.ases...)
		s.mu.Unlock()
		for _, as := range ases {
			s.startPusher(l, as)
		}
	}
	return nil
}

// startPusher runs one delivery worker per AS and life; s.lifeMu is held.
func (s *Server) startPusher(l *life, as *appservice) {
	if l.pushing[as] {
		return
	}
	l.pushing[as] = true
	l.workers.Add(1)
	go func() {
		defer l.workers.Done()
		s.push(l.ctx, as)
	}()
}

// stop ends the current life like a crash: connections are cut, in-flight
// calls to the AS abandoned, and workers gone before it returns.
func (s *Server) stop() {
	l := s.life
	if l == nil {
		return
	}
	s.life = nil
	l.cancel()
	_ = l.http.Close()
	l.workers.Wait()
}

// Restart simulates a homeserver crash and restart on the same port:
// in-flight requests and delivery attempts are dropped, while the model and
// the transaction queues (IDs and bodies included) survive, so that nothing
// is lost or sent under a different transaction.
func (s *Server) Restart() error {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	if s.closed {
		return errors.New("fakehs: restart after Close")
	}
	s.stop()
	return s.start()
}

// Close stops the fake and its delivery workers.
func (s *Server) Close() error {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	s.closed = true
	s.stop()
	return nil
}

// Port is the TCP port the fake listens on.
func (s *Server) Port() int {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	_, port, _ := net.SplitHostPort(s.addr)
	p, _ := strconv.Atoi(port)
	return p
}

// URL is the base URL of the fake's client-server API.
func (s *Server) URL() string {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	return "http://" + s.addr
}

// ServerName is the homeserver's server name.
func (s *Server) ServerName() string { return s.cfg.ServerName }

// SetLegacyLogin switches the legacy authentication API (spec v1.17) on or
// off while the server runs, so that one environment can show an AS both
// kinds of server (see Config.NoLegacyLogin).
func (s *Server) SetLegacyLogin(on bool) { s.noLegacyLogin.Store(!on) }

// Recorder holds every request the fake received or made.
func (s *Server) Recorder() *recorder.Recorder { return s.rec }

func (s *Server) userID(localpart string) string { return "@" + localpart + ":" + s.cfg.ServerName }

// local reports whether id (user ID or alias) belongs to this server.
func (s *Server) local(id string) bool {
	_, server, ok := strings.Cut(id, ":")
	return ok && server == s.cfg.ServerName
}

// notifyLocked wakes WaitIdle callers; s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}
