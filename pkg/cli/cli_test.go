package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kwbauson/create-pin-refs/pkg/site"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
	"github.com/kwbauson/create-pin-refs/test/fakecachix"
	"github.com/kwbauson/create-pin-refs/test/fakegithub"
)

const token = "tok-3f9a-secret"

func examplePins(t *testing.T) []cachix.Pin {
	t.Helper()
	raw, err := cachix.ReadPinsFile("../../examples/pins.json")
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

type result struct {
	code   int
	stderr string
}

func run(t *testing.T, environ map[string]string, args ...string) result {
	t.Helper()
	// These tests are about other things and their caches hold no narinfo
	// files; verification has tests of its own, which pass --verify after this.
	o := runCmd(t, environ, append([]string{"--verify", "off"}, args...)...)
	return result{o.code, o.stderr}
}

func TestMainFromCachix(t *testing.T) {
	srv := fakecachix.Start(t, fakecachix.Options{
		Token:      token,
		PathPrefix: "/prefix",
		Caches:     []fakecachix.Cache{{Name: "demo", Pins: examplePins(t), PublicSigningKeys: []string{"demo-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY="}}},
	})
	out := filepath.Join(t.TempDir(), "site")
	r := run(t, map[string]string{"CACHIX_AUTH_TOKEN": token}, "--cache", "demo", "--cachix-url", srv.URL(), "--out", out)
	if r.code != ExitOK {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "published 7 pins (5 names; systems: aarch64-darwin, aarch64-linux, x86_64-linux), 0 skipped") {
		t.Errorf("summary missing:\n%s", r.stderr)
	}
	var m site.ManifestData
	data, err := os.ReadFile(filepath.Join(out, site.Manifest))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if m.Substituter != srv.CacheURL("demo") || len(m.PublicKeys) != 1 || len(m.Pins) != 7 {
		t.Errorf("pins.json = %+v; want the fake's uri and key and 7 pins", m)
	}
	a, _ := os.ReadFile(filepath.Join(out, site.Tarball))
	b, _ := os.ReadFile(filepath.Join(out, site.TarballGz))
	if len(a) == 0 || string(a) != string(b) {
		t.Error("pins and pins.tar.gz differ or are empty")
	}
	if _, err := os.Stat(filepath.Join(out, site.BundleDir, "flake.nix")); err != nil {
		t.Error(err)
	}
}

func TestMainFailuresKeepThePreviousSite(t *testing.T) {
	srv := fakecachix.Start(t, fakecachix.Options{
		Token:  token,
		Caches: []fakecachix.Cache{{Name: "demo", Pins: examplePins(t)}, {Name: "empty"}},
	})
	out := filepath.Join(t.TempDir(), "site")
	if r := run(t, map[string]string{"INPUT_AUTH-TOKEN": token}, "--cache", "demo", "--cachix-url", srv.URL(), "--out", out); r.code != ExitOK {
		t.Fatalf("first run: exit %d:\n%s", r.code, r.stderr)
	}
	before, err := os.ReadFile(filepath.Join(out, site.Tarball))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		code    int
		mention string
	}{
		{"no token for a private cache", nil, []string{"--cache", "demo"}, ExitError, "CACHIX_AUTH_TOKEN"},
		{"unknown cache", map[string]string{"CACHIX_AUTH_TOKEN": token}, []string{"--cache", "nope"}, ExitError, "not found"},
		{"no pins", map[string]string{"CACHIX_AUTH_TOKEN": token}, []string{"--cache", "empty"}, ExitError, "--allow-empty"},
		{"usage", nil, []string{"--cache", "demo", "--mode", "ftp"}, ExitUsage, "--mode"},
		{"invalid pin file", map[string]string{"CACHIX_AUTH_TOKEN": token}, []string{"--pins-file", "testdata/bad-path.json", "--cache", "demo"}, ExitError, `pin "broken.x86_64-linux": lastRevision.storePath`},
		{"artifact inside the site", map[string]string{"CACHIX_AUTH_TOKEN": token}, []string{"--cache", "demo", "--mode", "pages", "--repo", "o/r", "--artifact", filepath.Join(out, "a.tar")}, ExitUsage, "--artifact"},
		{"pins file inside the site", nil, []string{"--pins-file", filepath.Join(out, site.Manifest), "--substituter", "https://demo.cachix.org"}, ExitUsage, "--pins-file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--cachix-url", srv.URL(), "--out", out}, tt.args...)
			r := run(t, tt.env, args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.mention) {
				t.Errorf("exit %d, want %d, with %q in:\n%s", r.code, tt.code, tt.mention, r.stderr)
			}
			after, err := os.ReadFile(filepath.Join(out, site.Tarball))
			if err != nil || string(after) != string(before) {
				t.Errorf("the previous site was changed (%v)", err)
			}
		})
	}
}

func TestMainPinsFileIsDeterministic(t *testing.T) {
	var tarballs []string
	for range 2 {
		out := t.TempDir()
		r := run(t, nil, "--pins-file", "../../examples/pins.json", "--cache-info-file", "../../examples/cache-info.json", "--out", out)
		if r.code != ExitOK {
			t.Fatalf("exit %d:\n%s", r.code, r.stderr)
		}
		data, err := os.ReadFile(filepath.Join(out, site.Tarball))
		if err != nil {
			t.Fatal(err)
		}
		tarballs = append(tarballs, string(data))
	}
	if tarballs[0] != tarballs[1] {
		t.Error("the same pins gave different tarballs")
	}
}

func TestBranchModeReadme(t *testing.T) {
	if !fakegithub.HaveGit() {
		t.Skip("needs git")
	}
	cx := fakecachix.Start(t, fakecachix.Options{Caches: []fakecachix.Cache{{Name: "demo", Pins: examplePins(t)}}})
	gh := fakegithub.New(t, fakegithub.Options{Owner: "octo", Repo: "pins", Token: token})
	out := t.TempDir()
	r := run(t, map[string]string{"GITHUB_TOKEN": token}, "--cache", "demo", "--cachix-url", cx.URL(), "--out", out,
		"--mode", "branch", "--repo", "octo/pins", "--github-api-url", gh.APIURL())
	if r.code != ExitOK {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	readme, err := gh.Git("show", "pins:README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"nix run 'github:octo/pins/pins?host=", "/octo/pins/archive/refs/heads/pins.tar.gz hello", "nix shell -f "} {
		if !strings.Contains(readme, want) {
			t.Errorf("the branch's README lacks %q:\n%s", want, readme)
		}
	}
	if strings.Contains(readme, " URL ") || strings.Contains(readme, "'URL#") {
		t.Errorf("the branch's README has a placeholder URL:\n%s", readme)
	}
}

// TestPerPinNotice: --per-pin-urls auto leaves the one-name bundles out of a
// site whose artifact they would take over the budget, with one notice that
// says how many names, what they would add and how to force them.
func TestPerPinNotice(t *testing.T) {
	out := filepath.Join(t.TempDir(), "site")
	var stderr strings.Builder
	code := Main(context.Background(), []string{"--pins-file", "../../examples/pins.json", "--substituter", "https://demo.cachix.org", "--verify", "off", "--out", out}, Env{
		Getenv:         func(string) string { return "" },
		Stdout:         io.Discard,
		Stderr:         &stderr,
		ArtifactBudget: 64 << 10,
	})
	if code != ExitOK {
		t.Fatalf("exit %d:\n%s", code, stderr.String())
	}
	if n := strings.Count(stderr.String(), "notice: per-pin URLs"); n != 1 {
		t.Errorf("%d notices about per-pin URLs, want 1:\n%s", n, stderr.String())
	}
	re := regexp.MustCompile(`notice: per-pin URLs \(URL/p/NAME\) left out: the 5 names would add [0-9.]+ KiB to the Pages artifact, making it [0-9.]+ KiB, over its 64.0 KiB budget; --per-pin-urls on builds them anyway`)
	if !re.MatchString(stderr.String()) {
		t.Errorf("the notice does not name the names, the size and the fix:\n%s", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(out, site.OnesDir)); err == nil {
		t.Errorf("%s was written", site.OnesDir)
	}
}

// TestWarnsOfMistypedSystems: a pin whose last part looks like a mistyped
// system is published system-less, with a warning naming it; at most
// nearSystemWarnings of them are named.
func TestWarnsOfMistypedSystems(t *testing.T) {
	var raw []cachix.Pin
	for i := range nearSystemWarnings + 3 {
		raw = append(raw, cachix.Pin{Name: fmt.Sprintf("tool%d.x86_64-Linux", i), LastRevision: cachix.Revision{StorePath: "/nix/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-tool"}})
	}
	raw = append(raw, cachix.Pin{Name: "hello.x86_64-linux", LastRevision: cachix.Revision{StorePath: "/nix/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-hello"}})
	data, err := json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "pins.json")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, nil, "--pins-file", file, "--substituter", "https://demo.cachix.org", "--out", filepath.Join(t.TempDir(), "site"))
	if r.code != ExitOK {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	want := `pin "tool0.x86_64-Linux": "x86_64-Linux" is not a Nix system (such as x86_64-linux), so the pin is offered on every system as "tool0.x86_64-Linux"`
	if !strings.Contains(r.stderr, want) || strings.Count(r.stderr, "is not a Nix system") != nearSystemWarnings ||
		!strings.Contains(r.stderr, "and 3 more pins whose last part looks like a mistyped system") || strings.Contains(r.stderr, `"hello.x86_64-linux": `) {
		t.Errorf("warnings:\n%s", r.stderr)
	}
}

// TestTookLine: a phase faster than half a millisecond read "took 0s".
func TestTookLine(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{350123 * time.Nanosecond, "Reading pins took 350µs"},
		{12345678 * time.Nanosecond, "Reading pins took 12.3ms"},
		{1432100 * time.Microsecond, "Reading pins took 1.43s"},
		{2*time.Minute + 5400*time.Millisecond, "Reading pins took 2m5s"},
	}
	for _, tt := range tests {
		got := tookLine("Reading pins", tt.d)
		if got != tt.want {
			t.Errorf("tookLine(%s) = %q, want %q", tt.d, got, tt.want)
		}
		// bench reads the figure back with time.ParseDuration.
		_, figure, _ := strings.Cut(got, " took ")
		if _, err := time.ParseDuration(figure); err != nil {
			t.Errorf("tookLine(%s) = %q: %v", tt.d, got, err)
		}
	}
}

// TestPlainHTTPSite: a site served over plain http to other machines is a
// warning; https, or this machine, is not.
func TestPlainHTTPSite(t *testing.T) {
	for _, tt := range []struct {
		url  string
		warn bool
	}{
		{"http://pins.example/", true},
		{"https://pins.example/", false},
		{"http://127.0.0.1:8080/", false},
	} {
		o := runCmd(t, nil, "--pins-file", "../../examples/pins.json", "--cache-info-file", "../../examples/cache-info.json", "--verify", "off",
			"--out", filepath.Join(t.TempDir(), "site"), "--pages-url", tt.url)
		if o.code != ExitOK || strings.Contains(o.stderr, "over plain http") != tt.warn {
			t.Errorf("--pages-url %s: exit %d, warned %t, want 0, %t:\n%s", tt.url, o.code, !tt.warn, tt.warn, o.stderr)
		}
	}
}
