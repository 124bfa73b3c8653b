package cli

import (
	"fmt"
	"html"
	"slices"
	"strings"

	"github.com/kwbauson/create-pin-refs/pkg/site"
)

// jobSummary is the Markdown of the job summary: the outcome, a table of names
// by system, and the README's settings and commands. Names go into <code> with
// HTML escaping, so no name can break the table or inject markup.
func jobSummary(r *Result) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "## create-pin-refs\n\n%s\n\n", html.EscapeString(r.String()))
	systems := r.Set.Systems()
	hasAny := false
	rows := map[string]map[string]bool{}
	var names []string
	for _, p := range r.Set.Pins {
		if rows[p.Name] == nil {
			rows[p.Name] = map[string]bool{}
			names = append(names, p.Name)
		}
		rows[p.Name][p.System] = true
		hasAny = hasAny || p.System == ""
	}
	cols := slices.Clone(systems)
	if hasAny {
		cols = append(cols, "")
	}
	// An HTML table: GitHub's Markdown splits table cells at any "|", even one
	// inside <code>, and names may hold one.
	sb.WriteString("<table>\n<tr><th>pin</th>")
	for _, c := range cols {
		if c == "" {
			c = "every system"
		}
		fmt.Fprintf(&sb, "<th>%s</th>", html.EscapeString(c))
	}
	sb.WriteString("</tr>\n")
	for _, n := range names {
		fmt.Fprintf(&sb, "<tr><td><code>%s</code></td>", html.EscapeString(n))
		for _, c := range cols {
			mark := ""
			if rows[n][c] {
				mark = "✓"
			}
			fmt.Fprintf(&sb, "<td>%s</td>", mark)
		}
		sb.WriteString("</tr>\n")
	}
	sb.WriteString("</table>\n")
	// The lockable form beside the mutable one: a lock of the mutable URL
	// breaks at the next publish.
	if _, input := site.LockAdvice(site.IndexView{Lock: r.Lock, FlakeRef: r.FlakeRef}); input != "" {
		run := r.FlakeRef
		if run == "" {
			run = r.URL
		}
		fmt.Fprintf(&sb, "\n<p>For <code>nix run</code>, the newest pins: <code>%s#NAME</code>. For flake inputs, the lockable form: <code>%s</code></p>\n",
			html.EscapeString(run), html.EscapeString(input))
	}
	sb.WriteString("\n<details><summary>Settings and commands</summary>\n\n")
	sb.Write(r.Readme)
	sb.WriteString("</details>\n")
	return sb.String()
}
