package cli

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kwbauson/create-pin-refs/pkg/pins"
	"github.com/kwbauson/create-pin-refs/pkg/retry"
	"github.com/kwbauson/create-pin-refs/pkg/site"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
	"github.com/kwbauson/create-pin-refs/test/fakecachix"
)

// verifyFixture is a local Cachix with a cache "demo" and an upstream cache
// "up", holding narinfo files for:
//
//	app (complete: app → lib), tool (split: tool → glibc, upstream only),
//	added (content-addressed), gone (pinned, in no cache).
type verifyFixture struct {
	srv    *fakecachix.Server
	path   func(string) string
	ownDir string // demo's binary cache folder
	upDir  string
}

func newVerifyFixture(t *testing.T, token string) *verifyFixture {
	t.Helper()
	p := fakecachix.StorePath
	own, up := t.TempDir(), t.TempDir()
	err := fakecachix.WriteNarInfos(own,
		fakecachix.NarInfo{StorePath: p("app"), References: []string{p("app"), p("lib")}, NarSize: 1000, Deriver: "/nix/store/0000000000000000000000000000000a-app.drv"},
		fakecachix.NarInfo{StorePath: p("lib"), NarSize: 24},
		fakecachix.NarInfo{StorePath: p("tool"), References: []string{p("glibc")}, NarSize: 7},
		fakecachix.NarInfo{StorePath: p("added"), NarSize: 9, CA: "fixed:r:sha256:1jpg5v8rcf4d08rlpq51vnd1w800l64h34r0bw4vkb6z3qlk089k"},
	)
	if err == nil {
		err = fakecachix.WriteNarInfos(up, fakecachix.NarInfo{StorePath: p("glibc"), NarSize: 30000})
	}
	if err != nil {
		t.Fatal(err)
	}
	pin := func(name, path string) cachix.Pin {
		return cachix.Pin{Name: name, CreatedOn: "2026-01-01T00:00:00Z", LastRevision: cachix.Revision{StorePath: path, Revision: 4, CreatedOn: "2026-01-02T00:00:00Z", Artifacts: []string{"bin/" + strings.Split(name, ".")[0]}}}
	}
	srv := fakecachix.Start(t, fakecachix.Options{Token: token, Caches: []fakecachix.Cache{
		{Name: "demo", Dir: own, PublicSigningKeys: []string{"demo-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY="}, Pins: []cachix.Pin{
			pin("app.x86_64-linux", p("app")), pin("tool", p("tool")), pin("added", p("added")), pin("gone.x86_64-linux", p("gone")),
		}},
		{Name: "up", Dir: up},
	}})
	return &verifyFixture{srv: srv, path: p, ownDir: own, upDir: up}
}

func (f *verifyFixture) args(out string, more ...string) []string {
	return append([]string{"--cache", "demo", "--cachix-url", f.srv.URL(), "--out", out, "--upstream", f.srv.CacheURL("up")}, more...)
}

func readManifest(t *testing.T, out string) site.ManifestData {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(out, site.Manifest))
	if err != nil {
		t.Fatal(err)
	}
	var m site.ManifestData
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestVerifyMissingFails(t *testing.T) {
	f := newVerifyFixture(t, "")
	out := filepath.Join(t.TempDir(), "site")
	r := run(t, nil, f.args(out, "--verify", "fail")...)
	if r.code != ExitError {
		t.Fatalf("exit %d, want %d:\n%s", r.code, ExitError, r.stderr)
	}
	for _, want := range []string{`pin "gone.x86_64-linux"`, f.path("gone") + " is in no binary cache", "cachix push demo " + f.path("gone"), "--verify=skip-missing"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the error does not say %q:\n%s", want, r.stderr)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a failed verification wrote %s (%v)", out, err)
	}
}

// TestVerifyUnreachableUpstream: an upstream cache this machine cannot reach
// (a runner without internet, cache.nixos.org by default) stops every mode,
// and the error says to pass --upstream none.
func TestVerifyUnreachableUpstream(t *testing.T) {
	f := newVerifyFixture(t, "")
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	for _, mode := range []string{"fail", "warn", "skip-missing"} {
		var stderr strings.Builder
		code := Main(context.Background(), []string{"--cache", "demo", "--cachix-url", f.srv.URL(), "--out", filepath.Join(t.TempDir(), "site"), "--upstream", closed, "--verify", mode},
			Env{Getenv: func(string) string { return "" }, Stdout: io.Discard, Stderr: &stderr, Retry: retry.Policy{Attempts: 2, BaseDelay: time.Millisecond}})
		if code != ExitError {
			t.Fatalf("--verify %s: exit %d, want %d:\n%s", mode, code, ExitError, stderr.String())
		}
		for _, want := range []string{"the upstream cache " + closed + " could not be read", "--upstream none"} {
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("--verify %s: the error does not say %q:\n%s", mode, want, stderr.String())
			}
		}
	}
}

func TestVerifySkipMissing(t *testing.T) {
	f := newVerifyFixture(t, "")
	out := filepath.Join(t.TempDir(), "site")
	r := run(t, nil, f.args(out, "--verify", "skip-missing")...)
	if r.code != ExitOK {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, `warning: pin "gone.x86_64-linux": `+f.path("gone")+" is in no binary cache (fix: cachix push demo") {
		t.Errorf("no warning for the missing pin:\n%s", r.stderr)
	}
	m := readManifest(t, out)
	got := map[string]bool{}
	for _, p := range m.Pins {
		got[p.PinName] = true
	}
	if got["gone.x86_64-linux"] || len(m.Pins) != 3 {
		t.Errorf("published %v, want the three pins the caches hold", got)
	}
	if len(m.Skipped) != 1 || m.Skipped[0].PinName != "gone.x86_64-linux" {
		t.Errorf("skipped %+v", m.Skipped)
	}
}

func TestVerifyWarnKeepsThePin(t *testing.T) {
	f := newVerifyFixture(t, "")
	out := filepath.Join(t.TempDir(), "site")
	r := run(t, nil, f.args(out, "--verify", "warn")...)
	if r.code != ExitOK {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, `warning: pin "gone.x86_64-linux": `) || !strings.Contains(r.stderr, "published anyway") {
		t.Errorf("no warning for the missing pin:\n%s", r.stderr)
	}
	if m := readManifest(t, out); len(m.Pins) != 4 {
		t.Errorf("published %d pins, want 4", len(m.Pins))
	}
}

// The metadata of pins.json and the shard entries that lib.nix reads.
func TestVerifyMetadata(t *testing.T) {
	f := newVerifyFixture(t, "")
	out := filepath.Join(t.TempDir(), "site")
	r := run(t, nil, f.args(out, "--verify", "skip-missing", "--concurrency", "2")...)
	if r.code != ExitOK {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "verified 4 pins against "+f.srv.CacheURL("demo")+" and 1 upstream caches") ||
		!strings.Contains(r.stderr, "2 complete, 1 split, 0 incomplete, 1 missing") {
		t.Errorf("no verification summary:\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, `pin "tool": 1 of the 2 paths of its closure are only in upstream caches (such as `+f.path("glibc")) {
		t.Errorf("the split pin is not explained:\n%s", r.stderr)
	}
	byName := map[string]map[string]any{}
	data, err := os.ReadFile(filepath.Join(out, site.Manifest))
	if err != nil {
		t.Fatal(err)
	}
	var raw struct{ Pins []map[string]any }
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	for _, p := range raw.Pins {
		byName[p["pin"].(string)] = p
	}
	want := map[string]map[string]any{
		"app.x86_64-linux": {"narSize": 1000.0, "closureSize": 1024.0, "closurePaths": 2.0, "closure": "complete", "deriver": "/nix/store/0000000000000000000000000000000a-app.drv", "revision": 4.0, "createdOn": "2026-01-02T00:00:00Z"},
		"tool":             {"narSize": 7.0, "closureSize": 30007.0, "closurePaths": 2.0, "closure": "split"},
		"added":            {"closure": "complete", "ca": "fixed:r:sha256:1jpg5v8rcf4d08rlpq51vnd1w800l64h34r0bw4vkb6z3qlk089k"},
	}
	for pin, fields := range want {
		for k, v := range fields {
			if got := byName[pin][k]; got != v {
				t.Errorf("pins.json: %s.%s = %v, want %v", pin, k, got, v)
			}
		}
	}
	shard, err := os.ReadFile(filepath.Join(out, "bundle", "data", "shards", "0.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"tool":{"*":{"path":"` + f.path("tool") + `","program":"bin/tool","closure":"split","revision":4}}`, `"added":{"*":{"path":"` + f.path("added") + `","program":"bin/added","ca":true,"revision":4}}`} {
		if !strings.Contains(string(shard), want) {
			t.Errorf("shard lacks %s:\n%s", want, shard)
		}
	}
	if strings.Contains(string(shard), `"app":{"x86_64-linux":{"path":"`+f.path("app")+`","program":"bin/app","c`) {
		t.Errorf("the complete pin has closure fields:\n%s", shard)
	}
}

func TestVerifyPrivateCache(t *testing.T) {
	f := newVerifyFixture(t, token)
	dir := t.TempDir()
	// The pins and the cache's information from files: only the narinfo
	// reads meet the private binary cache.
	info, _ := json.Marshal(cachix.CacheInfo{Name: "demo", URI: f.srv.CacheURL("demo"), PublicSigningKeys: []string{"demo-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY="}})
	pinsJSON, _ := json.Marshal([]cachix.Pin{
		{Name: "app", LastRevision: cachix.Revision{StorePath: f.path("app"), Revision: 1}},
		{Name: "tool", LastRevision: cachix.Revision{StorePath: f.path("tool"), Revision: 1}},
	})
	for name, data := range map[string][]byte{"info.json": info, "pins.json": pinsJSON} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"--pins-file", filepath.Join(dir, "pins.json"), "--cache-info-file", filepath.Join(dir, "info.json"), "--verify", "warn"}

	out := filepath.Join(dir, "anon")
	r := run(t, nil, append(args, "--out", out, "--upstream", "none")...)
	if r.code != ExitError || !strings.Contains(r.stderr, "401 Unauthorized") || !strings.Contains(r.stderr, "needs --auth-token") {
		t.Errorf("without the token: exit %d, want 1 saying a token is needed:\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("wrote %s", out)
	}
	r = run(t, map[string]string{"CACHIX_AUTH_TOKEN": "wrong"}, append(args, "--out", out, "--upstream", "none")...)
	if r.code != ExitError || !strings.Contains(r.stderr, "lacks read access") {
		t.Errorf("with a wrong token: exit %d, want 1 saying the token lacks access:\n%s", r.code, r.stderr)
	}
	r = run(t, map[string]string{"CACHIX_AUTH_TOKEN": token}, append(args, "--out", out, "--upstream", "none")...)
	if r.code != ExitOK || !strings.Contains(r.stderr, `warning: pin "tool": its closure needs `+f.path("glibc")) {
		t.Fatalf("with the token: exit %d:\n%s", r.code, r.stderr)
	}
	// Its consumers are told that Nix needs a token too.
	if m := readManifest(t, out); !m.Private {
		t.Error("pins.json does not say the cache is private")
	}
	if readme, err := os.ReadFile(filepath.Join(out, site.BundleDir, "README.md")); err != nil || !strings.Contains(string(readme), "The cache is private") {
		t.Errorf("the bundle's README does not say the cache is private (%v)", err)
	}
	// An upstream cache never gets the token: one on the same server, which
	// wants it, refuses; a public one on another server serves without it.
	r = run(t, map[string]string{"CACHIX_AUTH_TOKEN": token}, append(args, "--out", out, "--upstream", f.srv.CacheURL("up"))...)
	if r.code != ExitError || !strings.Contains(r.stderr, "upstream caches are sent no token") {
		t.Errorf("with a private upstream cache: exit %d, want 1 saying upstream caches get no token:\n%s", r.code, r.stderr)
	}
	public := fakecachix.Start(t, fakecachix.Options{Caches: []fakecachix.Cache{{Name: "up", Dir: f.upDir}}})
	r = run(t, map[string]string{"CACHIX_AUTH_TOKEN": token}, append(args, "--out", out, "--upstream", public.CacheURL("up"))...)
	if r.code != ExitOK || !strings.Contains(r.stderr, "1 complete, 1 split") {
		t.Fatalf("with a public upstream cache: exit %d:\n%s", r.code, r.stderr)
	}
	if got := public.Authorized(); len(got) > 0 {
		t.Errorf("the upstream cache got the token: %v", got)
	}
}

func TestSummaryShowsPinDetails(t *testing.T) {
	set := &pins.Set{Pins: []pins.Pin{
		{PinName: "app.x86_64-linux", Name: "app", System: "x86_64-linux", StorePath: "/nix/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-app", Revision: 4,
			CreatedOn: "2026-01-02T00:00:00Z", Artifacts: []string{"bin/app"}, NarSize: 2048, ClosureSize: 3 << 20, ClosurePaths: 12, Closure: "split",
			CA: "fixed:r:sha256:x", Deriver: "/nix/store/1c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-app.drv"},
		{PinName: "<b>", Name: "<b>", StorePath: "/nix/store/2c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-b", Revision: 1},
	}}
	md := jobSummary(&Result{Set: set, SiteDir: "site"})
	for _, want := range []string{
		"<tr><td><code>app.x86_64-linux</code></td><td>4</td><td>2026-01-02T00:00:00Z</td><td><code>bin/app</code></td><td>2.0 KiB</td><td>split: 12 paths, 3.0 MiB</td><td><code>fixed:r:sha256:x</code></td><td><code>/nix/store/1c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-app.drv</code></td></tr>",
		"<tr><td><code>&lt;b&gt;</code></td><td>1</td><td></td><td></td><td></td><td>not verified</td>",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %s:\n%s", want, md)
		}
	}
}

// TestNotNixDefault: Nix's default cache, however spelled, needs no word to
// consumers; any other upstream cache does.
func TestNotNixDefault(t *testing.T) {
	got := notNixDefault([]string{"https://cache.nixos.org", "https://cache.nixos.org/", "https://nix-community.cachix.org"})
	if len(got) != 1 || got[0] != "https://nix-community.cachix.org" {
		t.Errorf("notNixDefault = %q, want the community cache alone", got)
	}
}
