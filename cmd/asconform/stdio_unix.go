//go:build unix

package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// redirectStdio points this process's standard output and error (file
// descriptors 1 and 2, so Ginkgo's reporter and testcontainers' logger too)
// at f until restore is called. console is the terminal they pointed at.
func redirectStdio(f *os.File) (console *os.File, restore func(), err error) {
	saved := [2]int{}
	for i, fd := range []int{1, 2} {
		if saved[i], err = unix.Dup(fd); err != nil {
			return nil, nil, err
		}
		if err = unix.Dup2(int(f.Fd()), fd); err != nil {
			return nil, nil, err
		}
	}
	restore = func() {
		_ = unix.Dup2(saved[0], 1)
		_ = unix.Dup2(saved[1], 2)
		_ = unix.Close(saved[0])
		_ = unix.Close(saved[1])
	}
	// The console gets a descriptor of its own: a caller that drops it
	// (its finalizer closes it) must not take the one restore needs.
	fd, err := unix.Dup(saved[0])
	if err != nil {
		return nil, nil, err
	}
	return os.NewFile(uintptr(fd), "console"), restore, nil
}

// terminalWidth is the width of the terminal f, or 0 when f is none.
func terminalWidth(f *os.File) int {
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return 0
	}
	return int(ws.Col)
}
