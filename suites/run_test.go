package suites

import (
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
)

func TestOutsideSpecsNamesWhatNoVerdictShows(t *testing.T) {
	r := ginkgo.Report{
		SpecReports: types.SpecReports{
			{LeafNodeType: types.NodeTypeIt, State: types.SpecStateFailed, Failure: types.Failure{Message: "a spec's own failure"}},
			{LeafNodeType: types.NodeTypeBeforeSuite, State: types.SpecStatePassed},
			{LeafNodeType: types.NodeTypeAfterSuite, State: types.SpecStateFailed, Failure: types.Failure{Message: "cleanup: container gone\nmore"}},
		},
		SpecialSuiteFailureReasons: []string{"Interrupted by User"},
	}
	got := outsideSpecs(r)
	if len(got) != 2 || !strings.Contains(got[0], "AfterSuite") || !strings.Contains(got[0], "cleanup: container gone") || strings.Contains(got[0], "more") || !strings.Contains(got[1], "Interrupted") {
		t.Errorf("outsideSpecs = %q; want the AfterSuite failure (first line) and the interruption", got)
	}
	if got := outsideSpecs(ginkgo.Report{SpecReports: types.SpecReports{{LeafNodeType: types.NodeTypeIt, State: types.SpecStatePassed}}}); len(got) != 0 {
		t.Errorf("a clean run: outsideSpecs = %q; want none", got)
	}
}

func TestSelectedLeavesOutFilteredSpecs(t *testing.T) {
	filtered := types.SpecReport{LeafNodeType: types.NodeTypeIt, State: types.SpecStateSkipped}
	skipped := types.SpecReport{LeafNodeType: types.NodeTypeIt, State: types.SpecStateSkipped, Failure: types.Failure{Message: "needs to restart the homeserver"}}
	if selected(filtered) || !selected(skipped) {
		t.Errorf("selected(filtered) = %v, selected(skipped with a reason) = %v; want false, true", selected(filtered), selected(skipped))
	}
}

func TestJudgesSUT(t *testing.T) {
	for _, c := range []struct {
		state types.SpecState
		node  types.NodeType
		want  bool
	}{
		{types.SpecStateFailed, types.NodeTypeIt, true},
		{types.SpecStateTimedout, types.NodeTypeIt, true},
		{types.SpecStateFailed, types.NodeTypeBeforeAll, true}, // a scenario played before the specs judge it
		{types.SpecStatePanicked, types.NodeTypeIt, false},
		{types.SpecStateInterrupted, types.NodeTypeIt, false},
		{types.SpecStateFailed, types.NodeTypeCleanupAfterEach, false},
		{types.SpecStateFailed, types.NodeTypeAfterAll, false},
	} {
		s := types.SpecReport{LeafNodeType: types.NodeTypeIt, State: c.state, Failure: types.Failure{FailureNodeType: c.node}}
		if got := judgesSUT(s); got != c.want {
			t.Errorf("%s in %s: judgesSUT = %v; want %v", c.state, c.node, got, c.want)
		}
	}
}
