package cli

import (
	"fmt"
	"html"
	"slices"
	"strings"

	"github.com/kwbauson/create-pin-refs/pkg/pins"
	"github.com/kwbauson/create-pin-refs/pkg/site"
)

// jobSummary is the Markdown of the job summary: the outcome, a table of names
// by system, and the README's settings and commands. Names go into <code> with
// HTML escaping, so no name can break the table or inject markup.
// summaryMaxNames bounds the table: GitHub refuses a step summary over 1 MiB,
// and past a few screens the index page or pins.json serve better.
const summaryMaxNames = 500

func jobSummary(r *Result) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "## create-pin-refs\n\n%s\n\n", html.EscapeString(r.String()))
	systems := r.Set.Systems()
	hasAny := false
	rows := map[string]map[string]bool{}
	var names []string
	for _, p := range r.Set.Pins {
		hasAny = hasAny || p.System == ""
		if rows[p.Name] == nil {
			if len(names) == summaryMaxNames {
				continue
			}
			rows[p.Name] = map[string]bool{}
			names = append(names, p.Name)
		}
		rows[p.Name][p.System] = true
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
	if more := r.Names - len(names); more > 0 {
		fmt.Fprintf(&sb, "\nAnd %d more names.\n", more)
	}
	// The lockable form beside the mutable one: a lock of the mutable URL
	// breaks at the next publish.
	if _, input := site.LockAdvice(site.IndexView{Lock: r.Lock, FlakeRef: r.FlakeRef}); input != "" {
		run := r.FlakeRef
		if run == "" {
			run = r.URL
		}
		old := ""
		if gz := site.FlakeTarballURL(run); gz != run {
			old = fmt.Sprintf(" (Nix before 2.18: <code>%s#NAME</code>)", html.EscapeString(gz))
		}
		fmt.Fprintf(&sb, "\n<p>For <code>nix run</code>, the newest pins: <code>%s#NAME</code>%s. For flake inputs, the lockable form: <code>%s</code></p>\n",
			html.EscapeString(run), old, html.EscapeString(input))
	}
	if r.PerPinURL != "" {
		fmt.Fprintf(&sb, "\n<p>One name alone, at the same cost at any pin count: <code>nix run %s</code>%s (a name with bytes outside <code>A-Za-z0-9._-</code> has them written <code>~XX</code>; the index page shows each name's).</p>\n",
			html.EscapeString(r.PerPinURL+"NAME"), oneNameNote(r.PerPinURL))
	}
	pinDetails(&sb, r.Set.Pins)
	sb.WriteString("\n<details><summary>Settings and commands</summary>\n\n")
	sb.Write(r.Readme)
	sb.WriteString("</details>\n")
	return sb.String()
}

// detailsLimit keeps the summary well under GitHub's 1 MiB limit; pins.json
// has every pin.
const detailsLimit = 1000

// pinDetails is a folded table of what is known of each pin: its history, and
// what the binary caches say about its closure.
func pinDetails(sb *strings.Builder, ps []pins.Pin) {
	if len(ps) == 0 {
		return
	}
	sb.WriteString("\n<details><summary>Pin details</summary>\n\n<table>\n" +
		"<tr><th>pin</th><th>revision</th><th>created</th><th>artifacts</th><th>size</th><th>closure</th><th>content address</th><th>deriver</th></tr>\n")
	code := func(s string) string {
		if s == "" {
			return ""
		}
		return "<code>" + html.EscapeString(s) + "</code>"
	}
	for i, p := range ps {
		if i == detailsLimit {
			fmt.Fprintf(sb, "<tr><td colspan=\"8\">and %d more: see pins.json</td></tr>\n", len(ps)-i)
			break
		}
		var arts []string
		for _, a := range p.Artifacts {
			arts = append(arts, code(a))
		}
		size, closure := "", "not verified"
		if p.Closure != "" {
			size = site.Size(p.NarSize)
			closure = fmt.Sprintf("%s: %s, %s", p.Closure, count(p.ClosurePaths, "path"), site.Size(p.ClosureSize))
		}
		fmt.Fprintf(sb, "<tr><td>%s</td><td>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
			code(p.PinName), p.Revision, html.EscapeString(p.CreatedOn), strings.Join(arts, " "), size, closure, code(p.CA), code(p.Deriver))
	}
	sb.WriteString("</table>\n</details>\n")
}

// oneNameNote says what else a one-name URL takes: a site's serves -f and,
// with .tar.gz, the flakes of Nix before 2.18.
func oneNameNote(base string) string {
	if strings.Contains(base, "dir=") {
		return ""
	}
	return fmt.Sprintf(", <code>nix build -f %s</code>; Nix before 2.18 needs <code>%s</code> as a flake", html.EscapeString(base+"NAME"), html.EscapeString(base+"NAME.tar.gz"))
}
