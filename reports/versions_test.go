package reports

import (
	"strings"
	"testing"
)

func TestUnclaimedMissesShownApart(t *testing.T) {
	rep := Report{SpecVersion: "v1.19", SUT: SUT{Side: "homeserver", Flavor: "x", Versions: []string{"r0.6.1", "v1.1", "v1.2", "v9.9"}}}
	if got := rep.SUT.NewestClaimed(); got != "v1.2" {
		t.Fatalf("NewestClaimed = %q, want v1.2 (unknown versions ignored)", got)
	}
	if got := (SUT{Versions: []string{"r0.5.0"}}).NewestClaimed(); got != "v1.0" {
		t.Fatalf("r0.x only: NewestClaimed = %q, want v1.0", got)
	}
	old := Result{Spec: "old miss", Requirements: []string{"HS-REG-01"}, Verdict: Fail}
	newer := Result{Spec: "newer miss", Requirements: []string{"HS-REG-05"}, Verdict: NonStrict}
	passed := Result{Spec: "newer pass", Requirements: []string{"HS-REG-05"}, Verdict: Pass}
	rep.Results = []Result{old, newer, passed}
	if b, _ := rep.Unclaimed(old); b {
		t.Error("a v1.0 miss counted as beyond the claim")
	}
	if b, since := rep.Unclaimed(newer); !b || since != "v1.11" {
		t.Errorf("v1.11 miss: Unclaimed = %v %q, want true v1.11", b, since)
	}
	if b, _ := rep.Unclaimed(passed); b {
		t.Error("a pass counted as a miss")
	}
	if b, _ := (Report{Results: rep.Results}).Unclaimed(newer); b {
		t.Error("no advertised versions: nothing may be set apart")
	}
	var md strings.Builder
	rep.Markdown(&md)
	out := md.String()
	apart := strings.Index(out, "## Misses beyond v1.2")
	if apart < 0 || strings.Index(out, "newer miss") < apart || strings.Index(out, "old miss") > apart {
		t.Errorf("markdown does not set the v1.11 miss apart:\n%s", out)
	}
	if !strings.Contains(out, "Advertises versions r0.6.1, v1.1, v1.2, v9.9") {
		t.Errorf("markdown does not state the advertised versions:\n%s", out)
	}
	var html strings.Builder
	if err := rep.HTML(&html); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html.String(), "beyond v1.2") || !strings.Contains(html.String(), "beyond claim (v1.11)") {
		t.Error("HTML does not set the v1.11 miss apart")
	}
}
