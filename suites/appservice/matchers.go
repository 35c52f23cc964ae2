package appservice

import (
	"github.com/onsi/gomega/gcustom"
	"github.com/onsi/gomega/types"

	"github.com/asconform/asconform/fakehs"
	"github.com/asconform/asconform/internal/recorder"
)

// BeRegisteredOn matches a user ID that is registered on hs.
func BeRegisteredOn(hs *fakehs.Server) types.GomegaMatcher {
	return gcustom.MakeMatcher(func(userID string) (bool, error) { return hs.UserExists(userID), nil }).
		WithTemplate("Expected {{.Actual}} {{.To}} be a user registered on the homeserver")
}

// BeBoundOn matches a room alias that points to a room on hs.
func BeBoundOn(hs *fakehs.Server) types.GomegaMatcher {
	return gcustom.MakeMatcher(func(roomAlias string) (bool, error) {
		roomID, ok := hs.ResolveAlias(roomAlias)
		return ok && roomID != "", nil
	}).WithTemplate("Expected {{.Actual}} {{.To}} be bound to a room on the homeserver")
}

// EndBefore matches an exchange that ended before other did.
func EndBefore(other recorder.Exchange) types.GomegaMatcher {
	return gcustom.MakeMatcher(func(e recorder.Exchange) (bool, error) { return e.End.Before(other.End), nil }).
		WithTemplate("Expected {{.Actual.Method}} {{.Actual.Path}} (ended {{.Actual.End.Format \"15:04:05.000\"}}) {{.To}} end before {{.Data.Method}} {{.Data.Path}} (ended {{.Data.End.Format \"15:04:05.000\"}})", other)
}
