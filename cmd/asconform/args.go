package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// parseArgs parses a command's flags, which may come before, between or
// after its other arguments ("compare a.json b.json --out x"), and returns
// those. On -h it prints usage and the flags to stdout and says help.
func parseArgs(fs *flag.FlagSet, args []string, usage string, stdout io.Writer) (rest []string, help bool, err error) {
	fs.SetOutput(io.Discard)
	for left := args; ; {
		if err := fs.Parse(left); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(stdout, usage)
				fs.SetOutput(stdout)
				fs.PrintDefaults()
				return nil, true, nil
			}
			return nil, false, fmt.Errorf("%s: %v\n%s", fs.Name(), err, usage)
		}
		left = fs.Args()
		if len(left) == 0 {
			return rest, false, nil
		}
		rest, left = append(rest, left[0]), left[1:]
	}
}

// parseFlags is parseArgs for a command that takes flags only.
func parseFlags(fs *flag.FlagSet, args []string, usage string, stdout io.Writer) (help bool, err error) {
	rest, help, err := parseArgs(fs, args, usage, stdout)
	if err == nil && len(rest) > 0 {
		err = fmt.Errorf("%s: unexpected arguments %q\n%s", fs.Name(), rest, usage)
	}
	return help, err
}
