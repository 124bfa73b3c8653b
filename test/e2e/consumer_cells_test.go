package e2e

import (
	"regexp"
	"strconv"
)

// Cells where the bundle is an input of the user's own Nix code, a profile
// follows it across a republish, or the pin is of an unusual kind.

// nixAttr quotes a name as a Nix attribute; the test names need no escapes.
func nixAttr(name string) string { return strconv.Quote(name) }

// consumerFlake is a flake that takes the bundle as its input pins and exports
// the pin as packages.SYSTEM.default, computed from pins by value.
func consumerFlake(c cellInput, input, value string) map[string]string {
	return map[string]string{"consumer/flake.nix": `{
  inputs.pins = ` + input + `;
  outputs = { self, pins }: {
    packages.` + nixAttr(c.system) + `.default = ` + value + `;
  };
}
`}
}

// upgradeAll upgrades every element of the cell's profile, from the bundle
// fetched anew.
func upgradeAll(c cellInput) []string {
	argv := nixJSON("profile", "upgrade", "--profile", c.work+"/profile", "--refresh")
	if !c.v.atLeast(2, 20) {
		return append(argv, ".*") // a regex of element names before Nix 2.20
	}
	return append(argv, "--all")
}

func consumerCells() []cell {
	run := func(c cellInput, dir string) []string { return []string{c.work + "/" + dir + "/" + c.pin.program} }
	tgz := func(c cellInput) string { return c.site + "/pins.tar.gz" }
	// The consumer is locked, built, and run: `nix run .` in its folder.
	consumerSteps := func(c cellInput) [][]string {
		ref := "path:" + c.work + "/consumer"
		return [][]string{
			nixJSON("flake", "lock", ref),
			nixJSON("build", ref, "--out-link", c.work+"/result"),
			run(c, "result"),
			nixJSON("run", ref),
		}
	}
	singleRun := func(c cellInput) []string { return []string{c.work + "/result"} }
	return []cell{
		{
			id: "consumer-flake", only: plainAndQuoted(), row: "a flake with input `URL/pins.tar.gz` and `packages.SYSTEM.default = pins.packages.SYSTEM.NAME`: `nix flake lock`, `nix build`, `nix run`",
			link: "result", expect: works,
			files: func(c cellInput) map[string]string {
				return consumerFlake(c, "{ url = "+strconv.Quote(tgz(c))+"; }", "pins.packages."+nixAttr(c.system)+"."+nixAttr(c.pin.name))
			},
			steps: consumerSteps,
		},
		{
			id: "consumer-import", only: plainAndQuoted(), row: "a flake with non-flake input `URL/pins.tar.gz` and `(import pins { system = \"SYSTEM\"; }).NAME`: `nix flake lock`, `nix build`, `nix run`",
			link: "result", expect: works,
			files: func(c cellInput) map[string]string {
				return consumerFlake(c, "{ url = "+strconv.Quote(tgz(c))+"; flake = false; }",
					"(import pins { system = "+nixAttr(c.system)+"; })."+nixAttr(c.pin.name))
			},
			steps: consumerSteps,
		},
		{
			id: "consumer-import-nosystem", only: plainAndQuoted(), row: "a flake with non-flake input `URL/pins.tar.gz` and `(import pins { }).NAME`",
			expect: never("pure evaluation has no builtins.currentSystem, so the bundle cannot pick the pins' system; it says to pass { system = \"SYSTEM\"; }",
				`create-pin-refs: pure evaluation has no builtins\.currentSystem; import the bundle with \{ system = `),
			files: func(c cellInput) map[string]string {
				return consumerFlake(c, "{ url = "+strconv.Quote(tgz(c))+"; flake = false; }", "(import pins { })."+nixAttr(c.pin.name))
			},
			steps: consumerSteps,
		},
		{
			id: "fetchtarball", only: plainAndQuoted(), row: "`nix build --impure --expr '(import (fetchTarball \"URL/pins\") { }).NAME'`", link: "result", expect: works,
			steps: func(c cellInput) [][]string {
				expr := "(import (fetchTarball " + strconv.Quote(c.site+"/pins") + ") { })." + nixAttr(c.pin.name)
				return [][]string{nixJSON("build", "--impure", "--expr", expr, "--out-link", c.work+"/result"), run(c, "result")}
			},
		},
		{
			id: "profile-upgrade", row: "`nix profile install --profile DIR URL/pins.tar.gz#NAME`, republish, `nix profile upgrade`: the new pin runs",
			only: bundleWide(), upgrade: true, expect: works,
			want: func(c cellInput) []string { return c.upgradeWant },
			steps: func(c cellInput) [][]string {
				return [][]string{
					nixJSON("profile", "install", "--profile", c.work+"/profile", c.upgradeSite+"/pins.tar.gz#"+c.attr()),
					upgradeAll(c),
					run(c, "profile"),
				}
			},
		},
		{
			// No republish: Nix fails at once, reading the path it recorded.
			id: "profile-upgrade-dotted", row: "a name with a dot: `nix profile install --profile DIR URL/pins.tar.gz#'\"NAME\"'`, the pin runs, `nix profile upgrade`",
			only: quoted(), failStep: 3,
			expect: func(v nixVersion, p testPin) expectation {
				return never("Nix records the installed attribute path unquoted (`packages.SYSTEM.v1.7`), then reads it as `v1` → `7`; "+
					"install the name's own bundle instead, `URL/p/NAME.tar.gz` (`--per-pin-urls`), whose attribute is `default`, or give the pin a name without dots",
					`does not provide attribute 'packages\.[^'.]+\.`+regexp.QuoteMeta(p.name)+`'`)(v, p)
			},
			steps: func(c cellInput) [][]string {
				return [][]string{
					nixJSON("profile", "install", "--profile", c.work+"/profile", tgz(c)+"#"+c.attr()),
					run(c, "profile"),
					upgradeAll(c),
				}
			},
		},
		{
			id: "profile-upgrade-perpin", row: "`nix profile install --profile DIR URL/p/NAME.tar.gz`, republish, `nix profile upgrade`: the new pin runs",
			only: plainAndQuoted(), upgrade: true, expect: works,
			want: func(c cellInput) []string { return c.upgradeWant },
			steps: func(c cellInput) [][]string {
				return [][]string{
					nixJSON("profile", "install", "--profile", c.work+"/profile", c.upgradeSite+"/p/"+c.segment()+".tar.gz"),
					upgradeAll(c),
					run(c, "profile"),
				}
			},
		},
		{
			id: "single-outpath", row: "a single-file pin: `nix build URL/pins.tar.gz#NAME.outPath` (result: the file)", kind: "single",
			link: "result", pinLink: true,
			expect: since(2, 13, "Nix < 2.13 builds only derivations from a flake; `nix-store -r \"$(nix eval --raw URL/pins.tar.gz#NAME.outPath)\"` gets the file", `is not a derivation`),
			steps: func(c cellInput) [][]string {
				return [][]string{nixJSON("build", tgz(c)+"#"+c.attr()+".outPath", "--out-link", c.work+"/result"), singleRun(c)}
			},
		},
		{
			id: "single-run", row: "a single-file pin: `nix run URL/pins.tar.gz#NAME`", kind: "single",
			expect: never("the bundle cannot tell a file from a folder without reading the pin, which pure evaluation forbids, so the app runs PATH/bin/NAME; "+
				"run the file that `nix build --no-link --print-out-paths URL/pins.tar.gz#NAME.outPath` prints (Nix ≥ 2.13)", `unable to execute '[^']*/bin/single'`),
			steps: func(c cellInput) [][]string { return [][]string{nixJSON("run", tgz(c)+"#"+c.attr())} },
		},
	}
}
