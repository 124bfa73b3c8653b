package e2e

import (
	"path"
	"regexp"
	"strings"
)

// Cells that treat a pin as a package: the commands that want a derivation
// (flake show and check, nix-build, nix-env, search, profiles) and the forms
// whose result is the pinned path itself. All run in pure evaluation without
// fetch-closure unless the row says otherwise.

// nixJSON is a nix command that logs as JSON (see logJSON); the flag comes
// first, where every subcommand takes it.
func nixJSON(args ...string) []string {
	return append([]string{"nix", "--log-format", "internal-json"}, args...)
}

// bundleWide is the pin that cells about the whole bundle run for.
func bundleWide() []string { return []string{"hello"} }

// quoted is the pin whose name has a dot, so users must quote it.
func quoted() []string { return []string{"v1.7"} }

// plainAndQuoted are the pins, one with a name that must be quoted, that the
// other package cells run for.
func plainAndQuoted() []string { return append(bundleWide(), quoted()...) }

// storeName is the name part of a store path: what Nix shows as a package's name.
func storeName(p testPin) string { return path.Base(p.path)[33:] }

// since is a form that Nix supports from a version on; before, it fails with
// failure, and instead says what works.
func since(major, minor int, why, failure string) func(nixVersion, testPin) expectation {
	return func(v nixVersion, _ testPin) expectation {
		if v.atLeast(major, minor) {
			return expectation{}
		}
		return expectation{unsupported: why, failure: regexp.MustCompile(failure)}
	}
}

// never is a form that no Nix supports, for the reason given.
func never(why, failure string) func(nixVersion, testPin) expectation {
	return func(nixVersion, testPin) expectation {
		return expectation{unsupported: why, failure: regexp.MustCompile(failure)}
	}
}

func packageCells() []cell {
	run := func(c cellInput, dir string) []string { return []string{c.work + "/" + dir + "/" + c.pin.program} }
	outPathF := since(2, 16, "Nix < 2.16 takes only derivations from -f; `nix path-info \"$(nix eval --raw -f URL/pins NAME.outPath)\"` works",
		`does not evaluate to a derivation`)
	none := func(cellInput) []string { return []string{} }
	checksAll := since(2, 16, "Nix < 2.16 checks every system's packages, and checking a package fetches its pin, "+
		"here one of another system that no cache holds; `nix flake show` lists them without fetching", `elsewhere' does not exist and cannot be created`)
	tgz := func(c cellInput) string { return c.site + "/pins.tar.gz" }
	return []cell{
		{
			id: "build-outpath-f", only: plainAndQuoted(), row: "`nix build -f URL/pins NAME.outPath` (result: the pin itself)", link: "result", pinLink: true,
			expect: since(2, 16, "Nix < 2.16 takes only derivations from -f; `nix build -f URL/pins NAME` gives the wrapper", `does not evaluate to a derivation`),
			steps: func(c cellInput) [][]string {
				return [][]string{nixJSON("build", "-f", c.site+"/pins", c.attr()+".outPath", "--out-link", c.work+"/result"), run(c, "result")}
			},
		},
		{
			id: "build-outpath", only: plainAndQuoted(), row: "`nix build URL/pins.tar.gz#NAME.outPath` (result: the pin itself)", link: "result", pinLink: true,
			expect: since(2, 13, "Nix < 2.13 builds only derivations from a flake; `nix build URL/pins.tar.gz#NAME` gives the wrapper", `is not a derivation`),
			steps: func(c cellInput) [][]string {
				return [][]string{nixJSON("build", tgz(c)+"#"+c.attr()+".outPath", "--out-link", c.work+"/result"), run(c, "result")}
			},
		},
		{
			id: "max-jobs-0", only: plainAndQuoted(), row: "`nix build --max-jobs 0 -f URL/pins NAME`",
			expect: never("the wrapper is a local build, which --max-jobs 0 forbids; `nix build --max-jobs 0 -f URL/pins NAME.outPath` (Nix ≥ 2.16) only substitutes",
				`[Uu]nable to start any build`),
			steps: func(c cellInput) [][]string {
				return [][]string{nixJSON("build", "--max-jobs", "0", "-f", c.site+"/pins", c.attr(), "--out-link", c.work+"/result")}
			},
		},
		{
			id: "max-jobs-0-outpath", only: plainAndQuoted(), row: "`nix build --max-jobs 0 -f URL/pins NAME.outPath`", link: "result", pinLink: true,
			expect: outPathF,
			steps: func(c cellInput) [][]string {
				return [][]string{nixJSON("build", "--max-jobs", "0", "-f", c.site+"/pins", c.attr()+".outPath", "--out-link", c.work+"/result"), run(c, "result")}
			},
		},
		{
			id: "path-info", only: plainAndQuoted(), row: "`nix path-info -f URL/pins NAME`",
			expect: never("path-info names a derivation's outputs, here the wrapper, which it does not build; `nix path-info -f URL/pins NAME.outPath` (Nix ≥ 2.16) names the pin",
				`is not valid`),
			steps: func(c cellInput) [][]string {
				return [][]string{nixJSON("path-info", "-f", c.site+"/pins", c.attr())}
			},
		},
		{
			id: "path-info-outpath", only: plainAndQuoted(), row: "`nix path-info -f URL/pins NAME.outPath`", expect: outPathF,
			want: func(c cellInput) []string { return []string{c.pin.path} },
			steps: func(c cellInput) [][]string {
				return [][]string{nixJSON("path-info", "-f", c.site+"/pins", c.attr()+".outPath")}
			},
		},
		{
			id: "flake-show", row: "`nix flake show URL/pins.tar.gz`", only: bundleWide(), expect: works,
			listed: func(c cellInput) *regexp.Regexp {
				return regexp.MustCompile(regexp.QuoteMeta(c.pin.name) + `: package '` + regexp.QuoteMeta(storeName(c.pin)) + `'`)
			},
			steps: func(c cellInput) [][]string { return [][]string{nixJSON("flake", "show", tgz(c))} },
		},
		{
			id: "flake-show-git", row: "`nix flake show git+file://REPO?ref=pins`", only: bundleWide(), expect: works,
			listed: func(c cellInput) *regexp.Regexp {
				return regexp.MustCompile(regexp.QuoteMeta(c.pin.name) + `: package '` + regexp.QuoteMeta(storeName(c.pin)) + `'`)
			},
			steps: func(c cellInput) [][]string { return [][]string{nixJSON("flake", "show", c.git)} },
		},
		{
			id: "flake-check", row: "`nix flake check URL/pins.tar.gz`", only: bundleWide(), expect: checksAll, want: none,
			steps: func(c cellInput) [][]string { return [][]string{nixJSON("flake", "check", tgz(c))} },
		},
		{
			id: "flake-check-impure", row: "`nix flake check --impure URL/pins.tar.gz`", only: bundleWide(), expect: checksAll, want: none,
			steps: func(c cellInput) [][]string { return [][]string{nixJSON("flake", "check", "--impure", tgz(c))} },
		},
		{
			id: "search", only: plainAndQuoted(), row: "`nix search URL/pins.tar.gz NAME`", expect: works,
			listed: func(c cellInput) *regexp.Regexp {
				return regexp.MustCompile(`packages\.[^.\s]+\.` + regexp.QuoteMeta(strings.Trim(c.attr(), `"`)))
			},
			steps: func(c cellInput) [][]string {
				return [][]string{nixJSON("search", tgz(c), regexp.QuoteMeta(c.pin.name))}
			},
		},
		{
			id: "nix-build", only: plainAndQuoted(), row: "`nix-build URL/pins -A NAME` (result: the wrapper, linking the pin)", link: "result", expect: works,
			steps: func(c cellInput) [][]string {
				return [][]string{{"nix-build", "--log-format", "internal-json", c.site + "/pins", "-A", c.attr(), "-o", c.work + "/result"}, run(c, "result")}
			},
		},
		{
			id: "nix-env", only: plainAndQuoted(), row: "`nix-env -p DIR -f URL/pins -iA NAME`", expect: works,
			steps: func(c cellInput) [][]string {
				return [][]string{{"nix-env", "--log-format", "internal-json", "-p", c.work + "/profile", "-f", c.site + "/pins", "-iA", c.attr()}, run(c, "profile")}
			},
		},
		{
			id: "eval-cache", only: plainAndQuoted(), row: "`nix run URL/pins.tar.gz#NAME` without fetch-closure, then with it (one eval cache)", expect: works,
			steps: func(c cellInput) [][]string {
				ref := tgz(c) + "#" + c.attr()
				return [][]string{
					nixJSON("run", ref),
					nixJSON("--extra-experimental-features", "fetch-closure", "run", ref),
				}
			},
		},
	}
}
