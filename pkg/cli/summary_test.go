package cli

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kwbauson/create-pin-refs/pkg/pins"
)

// TestSummaryShowsLockableForm: the job summary gives the mutable form for
// nix run and the lockable one for flake inputs.
func TestSummaryShowsLockableForm(t *testing.T) {
	tests := []struct {
		name string
		res  Result
		want []string
	}{
		{
			name: "pages",
			res:  Result{URL: "https://o.github.io/r/pins", Lock: "https://o.github.io/r/b/0123.tar.gz"},
			want: []string{"<code>https://o.github.io/r/pins#NAME</code>", "(Nix before 2.18: <code>https://o.github.io/r/pins.tar.gz#NAME</code>)", "<code>inputs.pins.url = &#34;https://o.github.io/r/b/0123.tar.gz&#34;;</code>"},
		},
		{
			name: "branch",
			res:  Result{FlakeRef: "github:o/r/pins", Lock: "github:o/r/pins"},
			want: []string{"<code>github:o/r/pins#NAME</code>", "<code>inputs.pins.url = &#34;github:o/r/pins&#34;;</code>"},
		},
		{
			name: "pages, per-pin URLs",
			res:  Result{URL: "https://o.github.io/r/pins", PerPinURL: "https://o.github.io/r/p/"},
			want: []string{"<code>nix run https://o.github.io/r/p/NAME</code>", "<code>nix build -f https://o.github.io/r/p/NAME</code>", "<code>https://o.github.io/r/p/NAME.tar.gz</code>"},
		},
		{
			name: "branch, per-pin flakes",
			res:  Result{FlakeRef: "github:o/r/pins", PerPinURL: PerPinFlakeRef("github:o/r/pins")},
			want: []string{"<code>nix run github:o/r/pins?dir=p/NAME</code>"},
		},
		{name: "unknown URL", res: Result{}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.res.Set = &pins.Set{}
			got := jobSummary(&tt.res)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("summary lacks %q:\n%s", w, got)
				}
			}
			if tt.res.PerPinURL == "" && strings.Contains(got, "One name alone") {
				t.Errorf("summary shows per-pin URLs that were not built:\n%s", got)
			}
			if tt.res.FlakeRef != "" && strings.Contains(got, "Nix before 2.18") {
				t.Errorf("summary sends a flake reference's users to a tarball:\n%s", got)
			}
			if tt.want == nil && strings.Contains(got, "inputs.pins.url") {
				t.Errorf("summary shows a lockable form without one:\n%s", got)
			}
		})
	}
}

// TestSummaryListsAtMostMaxNames: a big cache's summary stays under GitHub's
// limit, listing the first names and counting the others.
func TestSummaryListsAtMostMaxNames(t *testing.T) {
	r := &Result{Set: &pins.Set{}, SiteDir: "_site"}
	for i := range summaryMaxNames + 3 {
		name := fmt.Sprintf("tool-%04d", i)
		r.Set.Pins = append(r.Set.Pins,
			pins.Pin{PinName: name + ".x86_64-linux", Name: name, System: "x86_64-linux"},
			pins.Pin{PinName: name, Name: name})
	}
	r.Names = summaryMaxNames + 3
	s := jobSummary(r)
	names, _, _ := strings.Cut(s, "</table>") // the first table: names and systems
	if got := strings.Count(names, "<tr><td><code>"); got != summaryMaxNames {
		t.Errorf("%d rows, want %d", got, summaryMaxNames)
	}
	if !strings.Contains(s, "And 3 more names.") || !strings.Contains(s, "<th>every system</th>") {
		t.Errorf("summary does not count the names it leaves out, or lost a column:\n%s", s[len(s)-200:])
	}
}
