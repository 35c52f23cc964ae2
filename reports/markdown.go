package reports

import (
	"fmt"
	"io"
	"strings"
)

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
	if len(r.SUT.Versions) > 0 {
		fmt.Fprintf(w, "Advertises versions %s (newest known: %s); the run targets %s.\n\n", strings.Join(r.SUT.Versions, ", "), or(r.SUT.NewestClaimed(), "none"), r.SpecVersion)
	}
	counts := r.Counts()
	fmt.Fprintln(w, "| verdict | specs |\n|---|---|")
	for _, v := range verdictOrder {
		if counts[v] > 0 {
			fmt.Fprintf(w, "| %s | %d |\n", v, counts[v])
		}
	}
	var beyond []Result
	fmt.Fprintln(w, "\n| verdict | requirements | spec | detail |\n|---|---|---|---|")
	for _, res := range r.Sorted() {
		if b, _ := r.Unclaimed(res); b {
			beyond = append(beyond, res)
			continue
		}
		r.markdownRow(w, res)
	}
	if len(beyond) > 0 {
		// Apart: features of releases the SUT never claimed (verdicts and
		// exit status are the same as for any other miss).
		fmt.Fprintf(w, "\n## Misses beyond %s, the newest version claimed\n\n| verdict | requirements | spec | detail |\n|---|---|---|---|\n", r.SUT.NewestClaimed())
		for _, res := range beyond {
			r.markdownRow(w, res)
		}
	}
}

func (r Report) markdownRow(w io.Writer, res Result) {
	detail := res.Reason
	if detail == "" {
		detail = firstLine(res.Message)
	}
	fmt.Fprintf(w, "| %s | %s | %s | %s |\n", cell(string(res.Verdict)), cell(strings.Join(res.Requirements, " ")), cell(res.Spec), cell(detail))
}

func or(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSuffix(line, "\r")
}

// cell makes s safe inside one Markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}
