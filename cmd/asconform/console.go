package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/asconform/asconform/reports"
	"github.com/asconform/asconform/suites"
)

// console is what `asconform run` shows: phase lines with their times, a
// live progress line on a terminal, then one line per spec and the verdict.
// Ginkgo's and the SUT's own output go to the run's log instead.
type console struct {
	w       io.Writer
	live    bool // a terminal: redraw a progress line in place
	color   bool
	width   int
	started time.Time

	mu         sync.Mutex
	shown      bool // a progress line is on screen
	total      int
	done       int
	unexpected int
	status     string // what the live line says besides the counts
}

func newConsole(w io.Writer) *console {
	c := &console{w: w, started: time.Now(), width: 200}
	if f, ok := w.(*os.File); ok && isTerminal(f) && os.Getenv("TERM") != "dumb" {
		c.live = true
		c.color = os.Getenv("NO_COLOR") == ""
		if cols := terminalWidth(f); cols > 0 {
			c.width = cols
		}
	}
	return c
}

// phase prints a step of the run, stamped with the time since the start.
func (c *console) phase(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clearLive()
	fmt.Fprintf(c.w, "%7s  %s\n", elapsed(time.Since(c.started)), fmt.Sprintf(format, args...))
	c.drawLive()
}

// setStatus changes what the live line says (e.g. the last build step).
func (c *console) setStatus(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.status = s
	c.clearLive()
	c.drawLive()
}

func (c *console) clearLive() {
	if c.live && c.shown {
		fmt.Fprint(c.w, "\r\033[K")
		c.shown = false
	}
}

func (c *console) drawLive() {
	if !c.live {
		return
	}
	line := fmt.Sprintf("%7s  ", elapsed(time.Since(c.started)))
	if c.total > 0 {
		line += fmt.Sprintf("%d/%d specs, %d unexpected", c.done, c.total, c.unexpected)
		if c.status != "" {
			line += " · "
		}
	}
	line += c.status
	fmt.Fprint(c.w, truncate(line, c.width-1))
	c.shown = true
}

// follow reads the progress file the suites append to until stop is
// called, turning its events into phase lines and the live line.
func (c *console) follow(path string) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var offset int64
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			offset = c.readEvents(path, offset)
			select {
			case <-done:
				c.readEvents(path, offset)
				return
			case <-tick.C:
				c.mu.Lock()
				c.clearLive()
				c.drawLive()
				c.mu.Unlock()
			}
		}
	}()
	return func() {
		close(done)
		<-finished
		c.mu.Lock()
		c.clearLive()
		c.mu.Unlock()
	}
}

func (c *console) readEvents(path string, offset int64) int64 {
	f, err := os.Open(path)
	if err != nil {
		return offset
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return offset
	}
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadString('\n')
		if err != nil { // a line still being written is read next time
			return offset
		}
		offset += int64(len(line))
		c.event(strings.Split(strings.TrimSuffix(line, "\n"), "\t"))
	}
}

func (c *console) event(fields []string) {
	switch {
	case fields[0] == "phase" && len(fields) > 1:
		c.phase("%s", fields[1])
	case fields[0] == "total" && len(fields) > 1:
		n, _ := strconv.Atoi(fields[1])
		c.mu.Lock()
		c.total = n
		c.mu.Unlock()
	case fields[0] == "spec" && len(fields) > 2:
		c.mu.Lock()
		c.done++
		if fields[2] == "1" {
			c.unexpected++
		}
		c.mu.Unlock()
	}
}

// table prints one line per spec, unexpected results first, each with its
// one-line reason; errors of one cause are one line.
func (c *console) table(rep reports.Report) {
	fmt.Fprintf(c.w, "\nasconform %s against %s (%s)\n", suites.SpecVersion, rep.SUT.Flavor, firstNonEmpty(rep.SUT.Image, rep.SUT.URL))
	if rep.SUT.Profile != "" {
		fmt.Fprintf(c.w, "profile: %s (opt-in unstable extensions)\n", rep.SUT.Profile)
	}
	results := rep.Sorted()
	for i := 0; i < len(results); i++ {
		res := results[i]
		ids := strings.Join(res.Requirements, ",")
		text := res.Spec
		if res.Verdict == reports.Error {
			same := 1
			for i+same < len(results) && results[i+same].Verdict == reports.Error && firstLine(results[i+same].Message) == firstLine(res.Message) {
				same++
			}
			if same > 1 {
				ids, text = fmt.Sprintf("%d specs", same), "could not run"
				i += same - 1
			}
		}
		if why := reasonOf(res); why != "" {
			text += " — " + why
		}
		line := fmt.Sprintf("  %-16s %-20s %s", strings.ToUpper(string(res.Verdict)), ids, text)
		fmt.Fprintln(c.w, c.paint(res.Verdict, truncate(line, c.width)))
	}
	var parts []string
	counts := rep.Counts()
	for _, v := range []reports.Verdict{reports.Pass, reports.Fail, reports.NonStrict, reports.ExpectedFailure, reports.UnexpectedPass, reports.Informational, reports.Skipped, reports.Error} {
		if counts[v] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[v], v))
		}
	}
	fmt.Fprintf(c.w, "%s in %s; %d unexpected\n", strings.Join(parts, ", "), rep.Duration.Round(time.Second/10), len(rep.Unexpected()))
}

// reasonOf is the one line that says why a result is not a plain pass.
func reasonOf(res reports.Result) string {
	switch res.Verdict {
	case reports.Pass, reports.Informational:
		return ""
	case reports.ExpectedFailure, reports.UnexpectedPass:
		if res.Reason != "" {
			return firstLine(res.Reason)
		}
	}
	return firstLine(res.Message)
}

func (c *console) paint(v reports.Verdict, s string) string {
	if !c.color {
		return s
	}
	code := map[reports.Verdict]string{
		reports.Pass: "32", reports.Fail: "31", reports.Error: "31", reports.UnexpectedPass: "35",
		reports.NonStrict: "33", reports.ExpectedFailure: "33", reports.Skipped: "2", reports.Informational: "36",
	}[v]
	if code == "" {
		return s
	}
	return "\033[" + code + "m" + s + "\033[0m"
}

// shortPath is p as the user can open it from where they ran the command.
func shortPath(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	if rel, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return p
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(line)
}

func truncate(s string, width int) string {
	if width <= 1 || len([]rune(s)) <= width {
		return s
	}
	r := []rune(s)
	return string(r[:width-1]) + "…"
}

func elapsed(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
