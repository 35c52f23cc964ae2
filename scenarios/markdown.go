package scenarios

import (
	"fmt"
	"io"
	"strings"
)

// verdictOrder is the order verdicts are listed in summaries.
var verdictOrder = []Verdict{Error, Fail, UnexpectedPass, NonStrict, ExpectedFailure, Informational, Skipped, Pass}

// WriteMarkdown writes dir/summary.md: counts, then one row per spec,
// failures first. It fits a CI job summary.
func (r Report) WriteMarkdown(dir string) (string, error) {
	var b strings.Builder
	r.Markdown(&b)
	return writeFile(dir, "summary.md", []byte(b.String()))
}

// Markdown renders the summary.
func (r Report) Markdown(w io.Writer) {
	fmt.Fprintf(w, "# asconform: %s (%s)\n\n", r.SUT.Flavor, r.SUT.Side)
	if r.SUT.Image != "" {
		fmt.Fprintf(w, "Image `%s`, ", r.SUT.Image)
	}
	if r.SUT.URL != "" {
		fmt.Fprintf(w, "URL `%s`, ", r.SUT.URL)
	}
	if r.SUT.Profile != "" {
		fmt.Fprintf(w, "profile `%s` (unstable extensions), ", r.SUT.Profile)
	}
	fmt.Fprintf(w, "spec %s, run %s, %s.\n\n", r.SpecVersion, r.Started.UTC().Format("2006-01-02 15:04 MST"), r.Duration.Round(100_000_000))
	counts := r.Counts()
	fmt.Fprintln(w, "| verdict | specs |\n|---|---|")
	for _, v := range verdictOrder {
		if counts[v] > 0 {
			fmt.Fprintf(w, "| %s | %d |\n", v, counts[v])
		}
	}
	fmt.Fprintln(w, "\n| verdict | requirements | spec | detail |\n|---|---|---|---|")
	for _, res := range r.Sorted() {
		detail := res.Reason
		if detail == "" {
			detail = firstLine(res.Message)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", cell(string(res.Verdict)), cell(strings.Join(res.Requirements, " ")), cell(res.Spec), cell(detail))
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSuffix(line, "\r")
}

// cell makes s safe inside one Markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}
