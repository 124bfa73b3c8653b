package e2e

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// outcome is how one cell went for one pin.
type outcome int

const (
	outcomeOK outcome = iota
	outcomeUnsupported
	outcomeUnexpectedPass // expected unsupported, yet it worked: update the matrix
	outcomeFailed
)

// matrix collects outcomes per row (a command form) and column (an
// installation); installations may record concurrently.
type matrix struct {
	rows, cols []string

	mu    sync.Mutex
	cells map[[2]string]*matrixCell
	pins  []string // Cachix pin names, with the system written SYSTEM
}

type matrixCell struct {
	pins   [4][]string // pin names by outcome
	reason string      // why unsupported
}

func newMatrix(rows, cols []string) *matrix {
	return &matrix{rows: rows, cols: cols, cells: map[[2]string]*matrixCell{}}
}

func (m *matrix) record(row, col string, pin testPin, system string, o outcome, reason string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if generic := strings.ReplaceAll(pin.pinName, "."+system, ".SYSTEM"); !slices.Contains(m.pins, generic) {
		m.pins = append(m.pins, generic)
	}
	k := [2]string{row, col}
	c := m.cells[k]
	if c == nil {
		c = &matrixCell{}
		m.cells[k] = c
	}
	c.pins[o] = append(c.pins[o], pin.name)
	if reason != "" {
		c.reason = reason
	}
}

// markdown renders the matrix as a table: one row per command form, one column
// per installation.
func (m *matrix) markdown() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var pins []string
	for _, p := range m.pins {
		pins = append(pins, "`"+p+"`")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Measured by `go test ./test/e2e/` over the pins %s; NAME is each pin, except in the rows from `nix build -f URL/pins NAME.outPath` on: "+
		"those run for hello and v1.7 (a name that must be quoted), or for hello alone when about the whole bundle, "+
		"or for the one pin of the kind they name. "+
		"In the rows of one-name bundles (`URL/p/NAME`, `?dir=p/NAME`; `--per-pin-urls`) NAME is the name's file name: "+
		"the name, its bytes outside `A-Za-z0-9._-` (and a leading dot) written `~XX`, as for `hello world` → `hello~20world`. "+
		"URL is the site as GitHub Pages serves it: the artifact of `--mode pages`, unpacked and served over HTTP. "+
		"REPO is the bare repository behind a local GitHub that `--mode branch` committed the bundle to through the Git Data API. "+
		"Every pin was verified by the CLI against the binary caches; `split` has a dependency that only an upstream cache holds, "+
		"`ca` is content-addressed (`nix-store --add`). "+
		"Commands run in pure evaluation without fetch-closure unless the row says otherwise. "+
		"ok: the pin's closure, absent before, was substituted from the binary cache (and the upstream cache), nothing was built "+
		"but local `builtin:buildenv` symlink trees (the bundle's wrapper, nix-env's profile), and the program printed its lines "+
		"(a listing: its output names the pin, and nothing was fetched or built; a pin of another "+
		"system only: Nix's ordinary missing-attribute error). unsupported: the command fails, with "+
		"the error the suite checks, for the reason given.\n\n", strings.Join(pins, ", "))
	b.WriteString("| command |")
	for _, c := range m.cols {
		b.WriteString(" " + c + " |")
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(m.cols)) + "\n")
	for _, r := range m.rows {
		b.WriteString("| " + escapeCell(r) + " |")
		for _, col := range m.cols {
			b.WriteString(" " + escapeCell(m.cells[[2]string{r, col}].String()) + " |")
		}
		b.WriteString("\n")
	}
	return b.String()
}

func (c *matrixCell) String() string {
	if c == nil {
		return "not run"
	}
	var parts []string
	list := func(o outcome) string {
		p := slices.Clone(c.pins[o])
		slices.Sort(p)
		return strings.Join(p, ", ")
	}
	n := 0
	for _, p := range c.pins {
		if len(p) > 0 {
			n++
		}
	}
	if f := c.pins[outcomeFailed]; len(f) > 0 {
		parts = append(parts, "**FAIL** ("+list(outcomeFailed)+")")
	}
	if u := c.pins[outcomeUnexpectedPass]; len(u) > 0 {
		parts = append(parts, "ok, but expected unsupported: "+c.reason+" — update the suite ("+list(outcomeUnexpectedPass)+")")
	}
	if u := c.pins[outcomeUnsupported]; len(u) > 0 {
		s := "unsupported: " + c.reason
		if n > 1 {
			s += " (" + list(outcomeUnsupported) + ")"
		}
		parts = append(parts, s)
	}
	if o := c.pins[outcomeOK]; len(o) > 0 {
		s := "ok"
		if n > 1 {
			s += " (" + list(outcomeOK) + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

func escapeCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
