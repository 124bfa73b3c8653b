// Package browser tests the site's index page in a real browser: headless
// Chromium (Debian's package; test/all.sh installs it as root) driven over the
// DevTools protocol by chromedp, against the site the program writes, served on
// 127.0.0.1. Without Chromium the tests skip and say so.
package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/kwbauson/create-pin-refs/bench/pinset"
	"github.com/kwbauson/create-pin-refs/pkg/cli"
	"github.com/kwbauson/create-pin-refs/pkg/pins"
	"github.com/kwbauson/create-pin-refs/pkg/site"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
	"github.com/kwbauson/create-pin-refs/test/chrome"
)

const (
	// maxRows is the most names the finder renders at once (index.js's maxShown).
	maxRows  = 200
	pagesURL = "https://octo.github.io/pins/"
	pinsURL  = pagesURL + "pins"
)

// hostileNames are valid pin names that would run as markup or script, or
// break quoting, if the page treated them as anything but text.
var hostileNames = []string{
	`<img src=x onerror="window.pwned=1">`, `<script>window.pwned=1</script>`, `"><b>bold</b>`,
	"hello", "v1.7", "with space", `a"b`, `${builtins.abort "pwned"}`, `back\slash`, "it's", "a#b",
	"a%20b", "tool^out", "if", "émoji-🚀", "constructor", "toString", "hasOwnProperty", "-dash", "=x",
	"$(id)", "`id`", "a&amp;b",
}

// browse starts a fresh headless Chromium and returns a tab's context, or
// skips the test without one.
func browse(t *testing.T) context.Context {
	t.Helper()
	needChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	tab, stop, err := chrome.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return tab
}

func needChromium(t *testing.T) {
	t.Helper()
	if _, err := chrome.Path(); err != nil {
		t.Skipf("skipping the browser tests: %v", err)
	}
}

// writeSite runs the program on raw pins and serves the site it wrote.
func writeSite(t *testing.T, raw []cachix.Pin) (base string, set *pins.Set) {
	t.Helper()
	dir := t.TempDir()
	data, err := json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	pinsFile := filepath.Join(dir, "pins.json")
	if err := os.WriteFile(pinsFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "site")
	env := cli.Env{Getenv: func(string) string { return "" }, Stdout: io.Discard, Stderr: io.Discard, Version: "test"}
	args := []string{"--pins-file", pinsFile, "--substituter", "https://demo.cachix.org", "--out", out, "--pages-url", pagesURL, "--repo", "octo/pins", "--verify", "off", "--keep-bundles", "1"}
	if code := cli.Main(context.Background(), args, env); code != 0 {
		t.Fatalf("create-pin-refs exited with %d", code)
	}
	set, err = pins.Build(raw, pins.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(out))}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + l.Addr().String() + "/", set
}

// wantCommands are the commands pkg/site gives name (the README's), and
// those of its one-name bundle.
func wantCommands(t *testing.T, base string, set *pins.Set, name string) []string {
	var programs []string
	for _, p := range set.Pins {
		if p.Name == name && p.Program != "" && !slices.Contains(programs, p.Program) {
			programs = append(programs, p.Program)
		}
	}
	slices.Sort(programs)
	var lines []string
	cmds := site.Commands(pinsURL, "", name, programs)
	// --per-pin-urls auto builds them for a small site, not at 100,000 pins.
	if resp, err := http.Get(base + site.OnesDir + "/"); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode == http.StatusOK {
		cmds = append(cmds, site.OneCommands(site.PerPinURL(pinsURL), name, programs)...)
	}
	for _, c := range cmds {
		lines = append(lines, c.Line)
	}
	return lines
}

// open loads the page and waits for the finder to have every name.
func open(ctx context.Context, base string, names int) (time.Duration, error) {
	took, got, err := chrome.Open(ctx, base, time.Minute)
	if err == nil && got != fmt.Sprint(names) {
		err = fmt.Errorf("the finder has %s names, want %d", got, names)
	}
	return took, err
}

// choose searches for name, clicks it in the results and returns what the
// page shows: the heading and every copy button's command.
func choose(ctx context.Context, name string) (heading string, copies []string, err error) {
	q, _ := json.Marshal(name)
	err = chromedp.Run(ctx,
		chromedp.SetValue("#q", name, chromedp.ByID),
		chromedp.Evaluate(`document.getElementById("q").dispatchEvent(new Event("input"))`, nil),
		chromedp.Click(`#results li:first-child button`, chromedp.ByQuery),
		chromedp.Poll(fmt.Sprintf(`!document.getElementById("pin").hidden && document.getElementById("pin-name").textContent === %s`, q), nil, chromedp.WithPollingTimeout(30*time.Second)),
		chromedp.Text("#pin-name", &heading, chromedp.ByID),
		chromedp.Evaluate(`[...document.querySelectorAll("#pin-cmds button.copy")].map(b => b.dataset.copy)`, &copies),
	)
	return heading, copies, err
}

func TestFinder(t *testing.T) {
	var raw []cachix.Pin
	for i, n := range hostileNames {
		raw = append(raw, cachix.Pin{Name: n + ".x86_64-linux", LastRevision: cachix.Revision{
			StorePath: fmt.Sprintf("/nix/store/%032d-hostile", i), Revision: 1, Artifacts: []string{"bin/tool"},
		}})
	}
	raw = append(raw, cachix.Pin{Name: "hello.aarch64-darwin", LastRevision: cachix.Revision{StorePath: "/nix/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-hello-2.12"}})
	raw = append(raw, cachix.Pin{Name: "conf", LastRevision: cachix.Revision{StorePath: "/nix/store/1c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-conf", Artifacts: []string{"etc/conf"}}})
	base, set := writeSite(t, raw)
	ctx := browse(t)
	if _, err := open(ctx, base, len(hostileNames)+1); err != nil {
		t.Fatal(err)
	}
	for _, name := range append(slices.Clone(hostileNames), "conf") {
		heading, copies, err := choose(ctx, name)
		if err != nil {
			t.Fatalf("choosing %q: %v", name, err)
		}
		if heading != name {
			t.Errorf("heading %q, want the name %q as text", heading, name)
		}
		if want := wantCommands(t, base, set, name); !slices.Equal(copies, want) {
			t.Errorf("copy buttons of %q hold\n%q\nwant\n%q", name, copies, want)
		}
	}
	// Nothing a name holds became markup or ran.
	var injected struct {
		Pwned    bool `json:"pwned"`
		Elements int  `json:"elements"`
	}
	if err := chromedp.Run(ctx, chromedp.Evaluate(`({pwned: window.pwned === 1, elements: document.querySelectorAll("img, b, main script").length})`, &injected)); err != nil {
		t.Fatal(err)
	}
	if injected.Pwned || injected.Elements != 0 {
		t.Errorf("a hostile name became markup: %+v", injected)
	}
	// The system filter: hello is on aarch64-darwin and x86_64-linux, conf everywhere.
	for _, tt := range []struct {
		system string
		names  int
	}{{"aarch64-darwin", 2}, {"x86_64-linux", len(hostileNames) + 1}, {"*", 1}, {"", len(hostileNames) + 1}} {
		var status string
		sys, _ := json.Marshal(tt.system)
		err := chromedp.Run(ctx,
			chromedp.Evaluate(`document.getElementById("q").value = ""`, nil),
			chromedp.Evaluate(fmt.Sprintf(`(s => { s.value = %s; s.dispatchEvent(new Event("change")); })(document.getElementById("sys"))`, sys), nil),
			chromedp.Poll(fmt.Sprintf(`document.getElementById("status").textContent.startsWith("%d of %d names")`, tt.names, tt.names), nil, chromedp.WithPollingTimeout(30*time.Second)),
			chromedp.Text("#status", &status, chromedp.ByID),
		)
		if err != nil {
			t.Errorf("system %q: want %d names: %v", tt.system, tt.names, err)
		}
	}
}

// TestCopyButtonCopies clicks a copy button and reads the clipboard back.
func TestCopyButtonCopies(t *testing.T) {
	base, set := writeSite(t, pinset.Synthetic(8))
	ctx := browse(t)
	name := set.Pins[0].Name
	if _, err := open(ctx, base, 6); err != nil {
		t.Fatal(err)
	}
	if _, _, err := choose(ctx, name); err != nil {
		t.Fatal(err)
	}
	var got string
	err := chromedp.Run(ctx,
		browser.GrantPermissions([]browser.PermissionType{browser.PermissionTypeClipboardReadWrite, browser.PermissionTypeClipboardSanitizedWrite}).WithOrigin(strings.TrimSuffix(base, "/")),
		chromedp.Click(`#pin-cmds button.copy`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector("#pin-cmds button.copy").textContent === "Copied"`, nil, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Evaluate(`navigator.clipboard.readText()`, &got, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }),
	)
	if err != nil {
		t.Fatal(err)
	}
	if want := wantCommands(t, base, set, name)[0]; got != want {
		t.Errorf("clipboard holds %q, want %q", got, want)
	}
}

// TestOpensAt100kPins opens the page of 100,000 pins and finds one; the time it
// takes is reported, not asserted (go run ./bench measures it for BENCHMARKS.md).
func TestOpensAt100kPins(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the 100,000-pin page")
	}
	needChromium(t)
	base, set := writeSite(t, pinset.Synthetic(100000)) // before the browser's clock starts
	ctx := browse(t)
	names := 0
	for i, p := range set.Pins {
		if i == 0 || p.Name != set.Pins[i-1].Name {
			names++
		}
	}
	took, err := open(ctx, base, names)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the page of 100,000 pins (%d names) opened and loaded every name in %v", names, took.Round(time.Millisecond))
	// It counts every name but renders only the first few.
	var shown struct {
		Rows   int    `json:"rows"`
		Status string `json:"status"`
	}
	if err := chromedp.Run(ctx, chromedp.Evaluate(`({rows: document.querySelectorAll("#results li").length, status: document.getElementById("status").textContent})`, &shown)); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%d of %d names, the first %d shown", names, names, maxRows); shown.Rows != maxRows || shown.Status != want {
		t.Errorf("%d rows with the status %q, want %d rows and %q", shown.Rows, shown.Status, maxRows, want)
	}
	name := set.Pins[len(set.Pins)/2].Name
	heading, copies, err := choose(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if heading != name || !slices.Equal(copies, wantCommands(t, base, set, name)) {
		t.Errorf("chose %q: page shows %q with commands %q", name, heading, copies)
	}
}

// TestOpensTheNameInTheAddress: a link to the page with a name after the #
// shows that name's pin and commands.
func TestOpensTheNameInTheAddress(t *testing.T) {
	var raw []cachix.Pin
	for i, n := range []string{"with space", `a"b`, "émoji-🚀", "zz"} {
		raw = append(raw, cachix.Pin{Name: n + ".x86_64-linux", LastRevision: cachix.Revision{
			StorePath: fmt.Sprintf("/nix/store/%032d-x", i), Artifacts: []string{"bin/x"}}})
	}
	base, set := writeSite(t, raw)
	ctx := browse(t)
	for i, name := range []string{"émoji-🚀", `a"b`} {
		q, _ := json.Marshal(name)
		var copies []string
		err := chromedp.Run(ctx,
			// A query of its own: a new hash alone would not load the page again.
			chromedp.Navigate(fmt.Sprintf("%s?load=%d#%s", base, i, url.PathEscape(name))),
			chromedp.Poll(fmt.Sprintf(`!document.getElementById("pin").hidden && document.getElementById("pin-name").textContent === %s`, q), nil, chromedp.WithPollingTimeout(30*time.Second)),
			chromedp.Evaluate(`[...document.querySelectorAll("#pin-cmds button.copy")].map(b => b.dataset.copy)`, &copies),
		)
		if err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		if want := wantCommands(t, base, set, name); !slices.Equal(copies, want) {
			t.Errorf("%q: copy buttons hold %q, want %q", name, copies, want)
		}
	}
}
