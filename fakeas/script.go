package fakeas

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Step scripts how the fake answers the next call(s) of a route. Steps of a
// route are consumed in the order they were added; a call with no step left
// gets the compliant default.
type Step struct {
	times   int // calls left; negative means every call from now on
	delay   time.Duration
	gate    *Gate
	hook    func(context.Context, Request) error
	respond *Response
	drop    bool
}

// On adds a step for the next call of route rt.
func (s *Server) On(rt Route) *Step {
	st := &Step{times: 1}
	s.mu.Lock()
	s.scripts[rt] = append(s.scripts[rt], st)
	s.mu.Unlock()
	return st
}

// Reset removes every pending step.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, steps := range s.scripts {
		for _, st := range steps {
			st.gate.release()
		}
	}
	for _, g := range s.gates {
		g.release()
	}
	s.gates = nil
	s.scripts = map[Route][]*Step{}
	s.expect, s.unexpected = nil, nil
}

// scripted says whether any step is pending for rt.
func (s *Server) scripted(rt Route) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.scripts[rt]) > 0
}

func (s *Server) nextStep(rt Route) *Step {
	s.mu.Lock()
	defer s.mu.Unlock()
	steps := s.scripts[rt]
	if len(steps) == 0 {
		return nil
	}
	st := steps[0]
	if st.times > 0 {
		st.times--
		if st.times == 0 {
			s.scripts[rt] = steps[1:]
			if st.gate != nil { // still to be released by Reset and Close
				s.gates = append(s.gates, st.gate)
			}
		}
	}
	return st
}

// Times makes the step apply to the next n calls.
func (st *Step) Times(n int) *Step { st.times = n; return st }

// Always makes the step apply to every later call.
func (st *Step) Always() *Step { st.times = -1; return st }

// Respond answers with status and a JSON body (nil means {}).
func (st *Step) Respond(status int, body any) *Step {
	st.respond = &Response{Status: status, Body: body}
	return st
}

// Fail answers 500 M_UNKNOWN: the AS is up but did not process the request.
func (st *Step) Fail() *Step {
	r := errResp(http.StatusInternalServerError, "M_UNKNOWN", "scripted failure")
	st.respond = &r
	return st
}

// Drop reads the request and closes the connection without answering: the
// homeserver never learns whether the AS processed it (a lost ACK).
func (st *Step) Drop() *Step { st.drop = true; return st }

// Delay waits d before answering.
func (st *Step) Delay(d time.Duration) *Step { st.delay = d; return st }

// Do runs hook before answering, e.g. to create a user through the
// client-server API while the homeserver waits. A hook error answers 500.
func (st *Step) Do(hook func(context.Context, Request) error) *Step { st.hook = hook; return st }

// Block holds calls until the returned gate is released.
func (st *Step) Block() *Gate {
	st.gate = &Gate{entered: make(chan struct{}), released: make(chan struct{})}
	return st.gate
}

func (st *Step) run(ctx context.Context, in Request) (resp Response, drop, handled bool) {
	if st.gate != nil {
		st.gate.enter()
		select {
		case <-st.gate.released:
		case <-ctx.Done():
			return Response{}, true, true
		}
	}
	if st.delay > 0 {
		select {
		case <-time.After(st.delay):
		case <-ctx.Done():
			return Response{}, true, true
		}
	}
	if st.hook != nil {
		if err := st.hook(ctx, in); err != nil {
			var answer Answer
			if errors.As(err, &answer) {
				return Response(answer), false, true
			}
			return errResp(http.StatusInternalServerError, "M_UNKNOWN", "hook failed: "+err.Error()), false, true
		}
	}
	switch {
	case st.drop:
		return Response{}, true, true
	case st.respond != nil:
		return *st.respond, false, true
	}
	return Response{}, false, false
}

// Answer is a response a Do hook returns as its error, to give it instead
// of the step's own: hooks use it to decide per request.
type Answer Response

func (a Answer) Error() string { return fmt.Sprintf("answer %d", a.Status) }

// Gate holds blocked calls until released.
type Gate struct {
	enterOnce, releaseOnce sync.Once
	entered, released      chan struct{}
}

// Entered is closed once a call is waiting at the gate.
func (g *Gate) Entered() <-chan struct{} { return g.entered }

// Release lets every waiting and later call through.
func (g *Gate) Release() { g.release() }

func (g *Gate) enter() { g.enterOnce.Do(func() { close(g.entered) }) }

func (g *Gate) release() {
	if g != nil {
		g.releaseOnce.Do(func() { close(g.released) })
	}
}
