package cli

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/kwbauson/create-pin-refs/pkg/config"
	"github.com/kwbauson/create-pin-refs/pkg/pins"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
)

// listedPin is one pin as `list --json` prints it.
type listedPin struct {
	Pin       string   `json:"pin"`
	Name      string   `json:"name"`
	System    string   `json:"system,omitempty"`
	StorePath string   `json:"storePath"`
	Revision  int      `json:"revision"`
	CreatedOn string   `json:"createdOn,omitempty"`
	Artifacts []string `json:"artifacts"`
}

func runList(ctx context.Context, cfg *config.List, env Env, rep reporter, out dataOut) error {
	raw, err := readCachePins(ctx, env, rep, cfg.API)
	if err != nil {
		return err
	}
	list := listed(raw)
	var b bytes.Buffer
	if cfg.JSON {
		err = writeListJSON(&b, list)
	} else {
		err = writeListTable(&b, list)
	}
	if err != nil {
		return err
	}
	return out.print(b.String())
}

// listed sorts the pins by name, then system; the list shows every pin the
// cache has, valid for a bundle or not.
func listed(raw []cachix.Pin) []listedPin {
	out := make([]listedPin, 0, len(raw))
	for _, p := range raw {
		name, system := pins.SplitName(p.Name)
		created := p.LastRevision.CreatedOn
		if created == "" {
			created = p.CreatedOn
		}
		out = append(out, listedPin{
			Pin: p.Name, Name: name, System: system,
			StorePath: p.LastRevision.StorePath, Revision: p.LastRevision.Revision,
			CreatedOn: created, Artifacts: append([]string{}, p.LastRevision.Artifacts...),
		})
	}
	slices.SortFunc(out, func(a, b listedPin) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.System, b.System), strings.Compare(a.Pin, b.Pin))
	})
	return out
}

// writeListJSON prints the pins as an indented JSON array. "##[" would start
// a legacy workflow command anywhere in a line; in JSON it can only be inside
// a string, where an escaped "#" reads the same.
func writeListJSON(w io.Writer, list []listedPin) error {
	data, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	data = bytes.ReplaceAll(data, []byte("##["), []byte(`#\u0023[`))
	_, err = fmt.Fprintf(w, "%s\n", data)
	return err
}

// writeListTable prints the pins as aligned columns.
func writeListTable(w io.Writer, list []listedPin) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSYSTEM\tSTORE PATH\tREVISION\tCREATED\tARTIFACTS")
	for _, p := range list {
		arts := make([]string, len(p.Artifacts))
		for i, a := range p.Artifacts {
			arts[i] = cell(a)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", cell(p.Name), orDash(cell, p.System), cell(p.StorePath),
			p.Revision, orDash(cell, createdCell(p.CreatedOn)), orDash(noop, strings.Join(arts, ",")))
	}
	return tw.Flush()
}

// cell shows a value from the server on one line of the table: quoted when
// it holds white space, control characters or anything that could act on a
// terminal or the Actions runner ("::" or "##[").
func cell(s string) string {
	if s == "" {
		return `""`
	}
	odd := strings.HasPrefix(s, "::") || strings.Contains(s, "##[") || strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || !unicode.IsPrint(r) || r == '"' || r == ','
	})
	if odd {
		return strings.ReplaceAll(strconv.QuoteToASCII(s), "##[", `#\x23[`)
	}
	return s
}

// orDash shows an empty value as "-", else f(s).
func orDash(f func(string) string, s string) string {
	if s == "" {
		return "-"
	}
	return f(s)
}

func noop(s string) string { return s }

// createdCell shortens Cachix's timestamps (microseconds, UTC) to minutes.
func createdCell(s string) string {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC().Format("2006-01-02T15:04Z")
	}
	return s
}
