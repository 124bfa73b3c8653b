package e2e

import (
	"path"
	"regexp"
)

// cellInput is what a cell's commands are made of.
type cellInput struct {
	site string // base URL of the site; URL/pins is the tarball
	// s3site is the base URL of the same pins published by s3 mode.
	s3site string
	git    string // git+file:///REPO?ref=pins
	work   string // the cell's own folder, as Nix sees it
	pin    testPin
	v      nixVersion
	// upgradeSite serves the site, then its republished version (see
	// cell.upgrade), where the pin prints upgradeWant.
	upgradeSite string
	upgradeWant []string
	system      string
}

// attr is the pin's attribute as users must type it: a dotted name is quoted, or
// Nix reads `v1.7` as the path v1 → 7.
func (c cellInput) attr() string {
	if regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_'-]*$`).MatchString(c.pin.name) {
		return c.pin.name
	}
	return `"` + c.pin.name + `"`
}

// cell is one command form, run for every pin (or, when foreign, for the pin
// of another system).
type cell struct {
	id           string // short, for test names
	row          string // the matrix row
	fetchClosure bool
	steps        func(c cellInput) [][]string
	// link, when set, is a link in the cell's folder that must lead into the
	// store: to the pin itself when pinLink is set, else to the pin or the
	// bundle's wrapper of it.
	link    string
	pinLink bool
	expect  func(v nixVersion, p testPin) expectation
	// failStep, when set, is the step (from 1) at which an unsupported cell
	// must fail, the steps before it working: a later command's error, not
	// an earlier one's that reads alike.
	failStep int
	foreign  bool
	// only, when set, names the pins the cell runs for: one for a command
	// about the whole bundle, a plain and a quoted name for the rest of the
	// package rows, which would otherwise double the suite's time.
	only []string
	// listed, when set, makes the cell a listing: its output must match, and
	// it must fetch nothing.
	listed func(c cellInput) *regexp.Regexp
	// want, when set, replaces the lines that the pin's program prints.
	want func(c cellInput) []string
	// kind is the kind of pin the cell is for (see testPin.kind).
	kind string
	// upgrade republishes the site at upgradeSite, with hello and v1.7
	// replaced by new paths, after the first step.
	upgrade bool
	// files are written into the cell's folder before its steps.
	files func(c cellInput) map[string]string
}

// expectation is what a cell must do on a Nix version.
type expectation struct {
	// unsupported says why this Nix cannot run the cell; empty when it must work.
	unsupported string
	// failure is the error an unsupported or foreign cell must show.
	failure *regexp.Regexp
}

// logJSON makes Nix log activities as JSON, so a cell can see what was built and
// where each path came from.
func logJSON(argv ...string) []string {
	return append([]string{argv[0], argv[1], "--log-format", "internal-json"}, argv[2:]...)
}

func works(nixVersion, testPin) expectation { return expectation{} }

// flakeForm is a way of writing the site's flake URL.
type flakeForm struct {
	id, label string
	ref       func(site string) string
	// supported is false, with the reason and Nix's error, where Nix cannot read it.
	supported func(v nixVersion) (bool, string, *regexp.Regexp)
}

func flakeForms() []flakeForm {
	always := func(nixVersion) (bool, string, *regexp.Regexp) { return true, "", nil }
	return []flakeForm{
		{
			id: "plain", label: "URL/pins",
			ref: func(site string) string { return site + "/pins" },
			supported: func(v nixVersion) (bool, string, *regexp.Regexp) {
				return v.atLeast(2, 18), "Nix < 2.18 takes an http URL without archive extension as a flake only with tarball+",
					regexp.MustCompile(`input 'http://[^']*/pins#[^']*' is unsupported`)
			},
		},
		{
			id: "tarball", label: "tarball+URL/pins",
			ref: func(site string) string { return "tarball+" + site + "/pins" },
			supported: func(v nixVersion) (bool, string, *regexp.Regexp) {
				return v.atLeast(2, 9), "Nix 2.8 has no tarball+ flake URLs; it needs a .tar.gz URL",
					regexp.MustCompile(`input 'tarball\+http://[^']*/pins#[^']*' is unsupported`)
			},
		},
		{
			id: "targz", label: "URL/pins.tar.gz",
			ref:       func(site string) string { return site + "/pins.tar.gz" },
			supported: always,
		},
	}
}

// cells lists every cell, in matrix order.
func cells() []cell {
	run := func(c cellInput) []string { return []string{c.work + "/result/" + c.pin.program} }
	out := []cell{
		{
			id: "build-f", row: "`nix build -f URL/pins NAME` (result: the wrapper, linking the pin)", link: "result", expect: works,
			steps: func(c cellInput) [][]string {
				return [][]string{logJSON("nix", "build", "-f", c.site+"/pins", c.attr(), "--out-link", c.work+"/result"), run(c)}
			},
		},
		{
			id: "shell-f", row: "`nix shell -f URL/pins NAME -c PROGRAM`", expect: works,
			steps: func(c cellInput) [][]string {
				return [][]string{logJSON("nix", "shell", "-f", c.site+"/pins", c.attr(), "-c", path.Base(c.pin.program))}
			},
		},
		{
			id: "run-f", row: "`nix run -f URL/pins NAME`", expect: works,
			steps: func(c cellInput) [][]string {
				return [][]string{logJSON("nix", "run", "-f", c.site+"/pins", c.attr())}
			},
		},
	}
	modes := []struct {
		id       string
		pure, fc bool
	}{
		{"pure-fc", true, true},
		{"pure", true, false},
		{"impure-fc", false, true},
		{"impure", false, false},
	}
	for _, f := range flakeForms() {
		for _, m := range modes {
			var flags []string
			if !m.pure {
				flags = []string{"--impure"}
			}
			row := "`nix run "
			for _, fl := range flags {
				row += fl + " "
			}
			row += f.label + "#NAME`"
			if m.fc {
				row += " (fetch-closure)"
			}
			out = append(out, cell{
				id:           "run-" + f.id + "-" + m.id,
				row:          row,
				fetchClosure: m.fc,
				expect: func(v nixVersion, p testPin) expectation {
					if ok, why, failure := f.supported(v); !ok {
						return expectation{unsupported: why, failure: failure}
					}
					return expectation{}
				},
				steps: func(c cellInput) [][]string {
					argv := append(logJSON("nix", "run"), flags...)
					return [][]string{append(argv, f.ref(c.site)+"#"+c.attr())}
				},
			})
		}
	}
	out = append(out,
		cell{
			id: "s3-build-f", only: plainAndQuoted(), row: "s3 mode, URL the bucket's HTTP address: `nix build -f URL/pins NAME`", link: "result", expect: works,
			steps: func(c cellInput) [][]string {
				return [][]string{logJSON("nix", "build", "-f", c.s3site+"/pins", c.attr(), "--out-link", c.work+"/result"), run(c)}
			},
		},
		cell{
			id: "s3-run-targz", only: plainAndQuoted(), row: "s3 mode, URL the bucket's HTTP address: `nix run --impure URL/pins.tar.gz#NAME`", expect: works,
			steps: func(c cellInput) [][]string {
				return [][]string{logJSON("nix", "run", "--impure", c.s3site+"/pins.tar.gz#"+c.attr())}
			},
		},
		cell{
			id: "build-targz-impure", row: "`nix build --impure URL/pins.tar.gz#NAME` (result: the wrapper, linking the pin)", link: "result", expect: works,
			steps: func(c cellInput) [][]string {
				return [][]string{logJSON("nix", "build", "--impure", c.site+"/pins.tar.gz#"+c.attr(), "--out-link", c.work+"/result"), run(c)}
			},
		},
		cell{
			id: "profile", row: "`nix profile install --profile DIR --impure URL/pins.tar.gz#NAME`", expect: works,
			steps: func(c cellInput) [][]string {
				return [][]string{
					logJSON("nix", "profile", "install", "--profile", c.work+"/profile", "--impure", c.site+"/pins.tar.gz#"+c.attr()),
					{c.work + "/profile/" + c.pin.program},
				}
			},
		},
		cell{
			id: "git-pure-fc", row: "`nix run git+file://REPO?ref=pins#NAME` (fetch-closure)", fetchClosure: true,
			expect: works,
			steps: func(c cellInput) [][]string {
				return [][]string{logJSON("nix", "run", c.git+"#"+c.attr())}
			},
		},
		cell{
			id: "git-impure", row: "`nix run --impure git+file://REPO?ref=pins#NAME`",
			expect: works,
			steps: func(c cellInput) [][]string {
				return [][]string{logJSON("nix", "run", "--impure", c.git+"#"+c.attr())}
			},
		},
	)
	out = append(out, packageCells()...)
	out = append(out, consumerCells()...)
	out = append(out, perPinCells()...)
	// A pin of another system only is missing here, exactly like any attribute.
	missing := func(v nixVersion, p testPin) expectation {
		return expectation{failure: regexp.MustCompile(`attribute '[^']*` + regexp.QuoteMeta(p.name) + `'[^\n]* not found|` +
			`attribute '[^']*` + regexp.QuoteMeta(p.name) + `' missing|does not provide attribute [^\n]*` + regexp.QuoteMeta(p.name))}
	}
	out = append(out,
		cell{
			id: "foreign-build-f", row: "`nix build -f URL/pins NAME`, pin of another system only: attribute error", foreign: true, expect: missing,
			steps: func(c cellInput) [][]string {
				return [][]string{logJSON("nix", "build", "-f", c.site+"/pins", c.attr(), "--out-link", c.work+"/result")}
			},
		},
		cell{
			id: "foreign-run", row: "`nix run --impure URL/pins.tar.gz#NAME`, pin of another system only: attribute error", foreign: true, expect: missing,
			steps: func(c cellInput) [][]string {
				return [][]string{logJSON("nix", "run", "--impure", c.site+"/pins.tar.gz#"+c.attr())}
			},
		},
	)
	return out
}
