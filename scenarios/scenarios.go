// Package scenarios holds the pieces specs and benchmarks build their
// scenarios from: a fake AS as a scenario sees it (AppService), the bridged
// room, the portal a bridge opens on an alias query, the scripted steps of
// a bridge, and the checks over what a fake AS received.
//
// Functions that end in Expect or Must run on a spec's goroutine; those a
// fake AS runs in a hook (while the homeserver waits) return errors
// instead, since a failure there is on the homeserver's request.
package scenarios

import (
	"github.com/onsi/ginkgo/v2"
)

// FailSpec is csapi.Client.Fail for specs: it fails the running spec at
// the line that made the Must call.
func FailSpec(message string, callerSkip int) { ginkgo.Fail(message, callerSkip+1) }
