package e2e

import (
	"regexp"

	"github.com/kwbauson/create-pin-refs/pkg/bundle"
)

// Cells of the one-name bundles (--per-pin-urls): URL/p/NAME and
// URL/p/NAME.tar.gz on the site, REPO?dir=p/NAME in the branch, where NAME is
// the name's segment (bundle.Segment: bytes outside [A-Za-z0-9._-] as ~XX).
// They run for a plain and a quoted name, and some for a name with a space
// (the "escaped" kind), since the segment is all a name changes.

// segment is the pin's one-name bundle's file name.
func (c cellInput) segment() string { return bundle.Segment(c.pin.name) }

func perPinCells() []cell {
	run := func(c cellInput) []string { return []string{c.work + "/result/" + c.pin.program} }
	bare := func(v nixVersion, p testPin) expectation {
		if v.atLeast(2, 18) {
			return expectation{}
		}
		return expectation{
			unsupported: "Nix < 2.18 takes an http URL without archive extension as a flake only with tarball+; `nix run URL/p/NAME.tar.gz` works",
			failure:     regexp.MustCompile(`input 'http://[^']*/p/[^']*' is unsupported`),
		}
	}
	var out []cell
	for _, kind := range []string{"", "escaped"} {
		only, suffix := plainAndQuoted(), ""
		if kind == "escaped" {
			only, suffix = nil, ", a name with a space (p/hello~20world)"
		}
		out = append(out,
			cell{
				id: "perpin-run", kind: kind, only: only, row: "`nix run URL/p/NAME`" + suffix, expect: bare,
				steps: func(c cellInput) [][]string {
					return [][]string{logJSON("nix", "run", c.site+"/p/"+c.segment())}
				},
			},
			cell{
				id: "perpin-run-targz-fc", kind: kind, only: only, row: "`nix run URL/p/NAME.tar.gz` (fetch-closure)" + suffix, fetchClosure: true, expect: works,
				steps: func(c cellInput) [][]string {
					return [][]string{logJSON("nix", "run", c.site+"/p/"+c.segment()+".tar.gz")}
				},
			},
			cell{
				id: "perpin-git-fc", kind: kind, only: only, row: "`nix run git+file://REPO?ref=pins&dir=p/NAME` (fetch-closure)" + suffix, fetchClosure: true, expect: works,
				steps: func(c cellInput) [][]string {
					return [][]string{logJSON("nix", "run", c.git+"&dir=p/"+c.segment())}
				},
			},
		)
	}
	only := plainAndQuoted()
	out = append(out,
		cell{
			id: "perpin-run-targz", only: only, row: "`nix run URL/p/NAME.tar.gz`", expect: works,
			steps: func(c cellInput) [][]string {
				return [][]string{logJSON("nix", "run", c.site+"/p/"+c.segment()+".tar.gz")}
			},
		},
		cell{
			id: "perpin-run-impure", only: only, row: "`nix run --impure URL/p/NAME.tar.gz`", expect: works,
			steps: func(c cellInput) [][]string {
				return [][]string{logJSON("nix", "run", "--impure", c.site+"/p/"+c.segment()+".tar.gz")}
			},
		},
		cell{
			id: "perpin-build-f", only: only, row: "`nix build -f URL/p/NAME` (result: the wrapper, linking the pin)", link: "result", expect: works,
			steps: func(c cellInput) [][]string {
				return [][]string{logJSON("nix", "build", "-f", c.site+"/p/"+c.segment(), "--out-link", c.work+"/result"), run(c)}
			},
		},
		cell{
			id: "perpin-build-f-targz", only: only, row: "`nix build -f URL/p/NAME.tar.gz` (result: the wrapper, linking the pin)", link: "result", expect: works,
			steps: func(c cellInput) [][]string {
				return [][]string{logJSON("nix", "build", "-f", c.site+"/p/"+c.segment()+".tar.gz", "--out-link", c.work+"/result"), run(c)}
			},
		},
		cell{
			id: "perpin-nix-build", only: only, row: "`nix-build URL/p/NAME` (result: the wrapper, linking the pin)", link: "result", expect: works,
			steps: func(c cellInput) [][]string {
				return [][]string{{"nix-build", "--log-format", "internal-json", c.site + "/p/" + c.segment(), "-o", c.work + "/result"}, run(c)}
			},
		},
		cell{
			id: "perpin-git-impure", only: only, row: "`nix run --impure git+file://REPO?ref=pins&dir=p/NAME`", expect: works,
			steps: func(c cellInput) [][]string {
				return [][]string{logJSON("nix", "run", "--impure", c.git+"&dir=p/"+c.segment())}
			},
		},
	)
	return out
}
