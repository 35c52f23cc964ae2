package bench

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of /proc/stat and /proc/self/stat times on Linux.
const userHZ = 100

// cpuSample is the CPU time used so far by the whole machine (all CPUs,
// everything but idle and iowait) and by this process.
type cpuSample struct {
	machine, self time.Duration
	ok            bool
}

func sampleCPU() cpuSample {
	stat, err1 := os.ReadFile("/proc/stat")
	self, err2 := os.ReadFile("/proc/self/stat")
	if err1 != nil || err2 != nil {
		return cpuSample{}
	}
	var s cpuSample
	line, _, _ := strings.Cut(string(stat), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	if len(f) < 9 || f[0] != "cpu" {
		return cpuSample{}
	}
	for i, v := range f[1:9] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		s.machine += ticks(n)
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	rest := string(self)
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+1:]
	}
	g := strings.Fields(rest) // state ppid ... utime(12) stime(13)
	if len(g) < 13 {
		return cpuSample{}
	}
	ut, _ := strconv.ParseInt(g[11], 10, 64)
	st, _ := strconv.ParseInt(g[12], 10, 64)
	s.self = ticks(ut + st)
	s.ok = true
	return s
}

func ticks(n int64) time.Duration { return time.Duration(n) * time.Second / userHZ }

// ProcessCPU is the CPU time (user and system) this process has used so
// far; ok is false where /proc is not available.
func ProcessCPU() (d time.Duration, ok bool) {
	s := sampleCPU()
	return s.self, s.ok
}
