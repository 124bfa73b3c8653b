package cli

import (
	"fmt"
	"html"
	"slices"
	"strings"
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
	sb.WriteString("| pin |")
	for _, c := range cols {
		if c == "" {
			c = "every system"
		}
		fmt.Fprintf(&sb, " %s |", c)
	}
	sb.WriteString("\n|---|" + strings.Repeat("---|", len(cols)) + "\n")
	for _, n := range names {
		fmt.Fprintf(&sb, "| <code>%s</code> |", html.EscapeString(n))
		for _, c := range cols {
			mark := ""
			if rows[n][c] {
				mark = "✓"
			}
			fmt.Fprintf(&sb, " %s |", mark)
		}
		sb.WriteString("\n")
	}
	sb.WriteString("\n<details><summary>Settings and commands</summary>\n\n")
	sb.Write(r.Readme)
	sb.WriteString("</details>\n")
	return sb.String()
}
