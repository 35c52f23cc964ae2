package homeserver

import (
	. "github.com/onsi/ginkgo/v2"
)

// describe opens a container of the suite: labelled "homeserver" (with any
// further decorators given before body), each spec starting the
// environment first, so that a failure there is the environment's error,
// not a spec's.
func describe(text string, args ...any) bool {
	body := args[len(args)-1].(func())
	decorators := append([]any{Label("homeserver")}, args[:len(args)-1]...)
	return Describe(text, append(decorators, func() {
		BeforeEach(requireEnv, NodeTimeout(startTimeout))
		body()
	})...)
}
