package cli

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kwbauson/create-pin-refs/pkg/pins"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
	"github.com/kwbauson/create-pin-refs/test/fakecachix"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// output is what a run of a subcommand printed.
type output struct {
	code           int
	stdout, stderr string
}

func runCmd(t *testing.T, environ map[string]string, args ...string) output {
	t.Helper()
	var stdout, stderr strings.Builder
	code := Main(context.Background(), args, Env{
		Getenv:  func(k string) string { return environ[k] },
		Stdout:  &stdout,
		Stderr:  &stderr,
		Version: "test",
	})
	if strings.Contains(stdout.String()+stderr.String(), token) {
		t.Errorf("the token was printed:\n%s%s", stdout.String(), stderr.String())
	}
	return output{code, stdout.String(), stderr.String()}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", name, diff)
	}
}

// odd pins show how the list prints what a terminal or the runner would
// otherwise act on.
var oddPins = []cachix.Pin{
	{Name: "::warning::x", LastRevision: cachix.Revision{StorePath: "/nix/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-ok", Revision: 1}},
	{Name: "spaced name##[x", LastRevision: cachix.Revision{StorePath: "/nix/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-ok", Revision: 1, Artifacts: []string{"bin/a b"}}},
}

func TestList(t *testing.T) {
	srv := fakecachix.Start(t, fakecachix.Options{
		Token:  token,
		Caches: []fakecachix.Cache{{Name: "demo", Pins: append(examplePins(t), oddPins...)}},
	})
	env := map[string]string{"CACHIX_AUTH_TOKEN": token}
	table := runCmd(t, env, "list", "--cache", "demo", "--cachix-url", srv.URL())
	if table.code != ExitOK || table.stderr != "" {
		t.Fatalf("exit %d:\n%s", table.code, table.stderr)
	}
	golden(t, "list.txt", table.stdout)
	js := runCmd(t, env, "list", "--json", "--cache", "demo", "--cachix-url", srv.URL())
	if js.code != ExitOK {
		t.Fatalf("exit %d:\n%s", js.code, js.stderr)
	}
	golden(t, "list.json", js.stdout)
	for _, out := range []string{table.stdout, js.stdout} {
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "::") || strings.Contains(line, "##[") {
				t.Errorf("line %q would be a workflow command", line)
			}
		}
	}

	if r := runCmd(t, nil, "list", "--cache", "demo", "--cachix-url", srv.URL()); r.code != ExitError || !strings.Contains(r.stderr, "needs an auth token") {
		t.Errorf("private cache without a token: exit %d:\n%s", r.code, r.stderr)
	}
}

func TestResolve(t *testing.T) {
	const (
		x86   = "/nix/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-hello-x86"
		arm   = "/nix/store/1c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-hello-arm"
		any   = "/nix/store/2c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-hello-any"
		docs  = "/nix/store/3c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-docs"
		darwn = "/nix/store/4c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-mac"
	)
	pin := func(name, path string) cachix.Pin {
		return cachix.Pin{Name: name, LastRevision: cachix.Revision{StorePath: path, Revision: 1}}
	}
	srv := fakecachix.Start(t, fakecachix.Options{Caches: []fakecachix.Cache{{Name: "demo", Pins: []cachix.Pin{
		pin("hello.x86_64-linux", x86), pin("hello.aarch64-linux", arm), pin("hello", any),
		pin("v1.7", docs), pin("mactool.aarch64-darwin", darwn), pin("helo-world", docs),
		{Name: "never.x86_64-linux", NoLastRevision: true},
	}}}})
	here, _ := pins.NixSystem(runtime.GOOS, runtime.GOARCH)
	hereHello := map[string]string{"x86_64-linux": x86, "aarch64-linux": arm}[here]
	if hereHello == "" {
		hereHello = any
	}
	tests := []struct {
		name string
		args []string
		want string // stdout; empty: exit 1
		err  string
	}{
		{"this system", []string{"hello"}, hereHello, ""},
		{"x86_64-linux", []string{"hello", "--system", "x86_64-linux"}, x86, ""},
		{"aarch64-linux", []string{"--system", "aarch64-linux", "hello"}, arm, ""},
		{"fallback", []string{"hello", "--system", "x86_64-darwin"}, any, ""},
		{"system-less", []string{"v1.7", "--system", "x86_64-linux"}, docs, ""},
		{"full name", []string{"hello.aarch64-linux", "--system", "x86_64-linux"}, arm, ""},
		{"other system only", []string{"mactool", "--system", "x86_64-linux"}, "",
			`cache "demo" has no pin "mactool" for x86_64-linux, nor one without a system; it has mactool.SYSTEM for aarch64-darwin (pass --system`},
		{"close names", []string{"helo", "--system", "x86_64-linux"}, "", `close names: hello, helo-world`},
		{"no lastRevision", []string{"never", "--system", "x86_64-linux"}, "",
			`pin "never.x86_64-linux": lastRevision: missing (no store path was ever pinned under this name); pin one with ` + "`cachix pin CACHE never.x86_64-linux STORE-PATH`"},
		{"nothing close", []string{"zzzzzzzz", "--system", "x86_64-linux"}, "", `it has 7 pins (create-pin-refs list --cache demo --cachix-url ` + srv.URL() + ` shows them)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCmd(t, nil, append([]string{"resolve", "--cache", "demo", "--cachix-url", srv.URL()}, tt.args...)...)
			if tt.want != "" {
				if r.code != ExitOK || r.stdout != tt.want+"\n" || r.stderr != "" {
					t.Errorf("exit %d, stdout %q, stderr %q; want only %s", r.code, r.stdout, r.stderr, tt.want)
				}
				return
			}
			if r.code != ExitError || r.stdout != "" || !strings.Contains(r.stderr, tt.err) {
				t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant exit 1 and %q", r.code, r.stdout, r.stderr, tt.err)
			}
		})
	}
}

func TestCommandUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"list", "--help"}, ExitOK, "Usage: create-pin-refs list --cache NAME [--json]"},
		{[]string{"resolve", "-h"}, ExitOK, "--system system"},
		{[]string{"pin", "--help"}, ExitOK, "--keep-revisions N"},
		{[]string{"list"}, ExitUsage, "--cache: required"},
		{[]string{"list", "--cache", "Bad_Name"}, ExitUsage, "is not a Cachix cache name"},
		{[]string{"list", "--cache", "demo", "extra"}, ExitUsage, `list: unexpected argument "extra"`},
		{[]string{"resolve", "--cache", "demo"}, ExitUsage, "resolve: missing arguments"},
		{[]string{"pin", "--cache", "demo", "hello", "./result"}, ExitUsage, "--auth-token: required to pin"},
		{[]string{"pin", "--cache", "demo", "--auth-token", token, "hello"}, ExitUsage, "pin: missing arguments"},
		{[]string{"pin", "--cache", "demo", "--auth-token", token, "--keep-days", "3", "--keep-forever", "hello", "./result"}, ExitUsage, "--keep-days, --keep-forever: give one of them"},
		{[]string{"pin", "--cache", "demo", "--auth-token", token, "--keep-revisions", "0", "hello", "./result"}, ExitUsage, "--keep-revisions: 0 is not a positive number"},
		{[]string{"pin", "--cache", "demo", "--auth-token", token, "--wait", "-1s", "hello", "./result"}, ExitUsage, "--wait: -1s is negative"},
		{[]string{"pin", "--cache", "demo", "--auth-token", token, "--cachix-url", "ftp://x", "hello", "./result"}, ExitUsage, "--cachix-url"},
	} {
		r := runCmd(t, nil, tt.args...)
		if r.code != tt.code || !strings.Contains(r.stderr, tt.err) || r.stdout != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr:\n%s\nwant exit %d and %q", tt.args, r.code, r.stdout, r.stderr, tt.code, tt.err)
		}
	}
}

func TestVersion(t *testing.T) {
	for _, tt := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"--version"}, ExitOK, "create-pin-refs test\n", ""},
		{[]string{"-version"}, ExitOK, "create-pin-refs test\n", ""},
		{[]string{"version"}, ExitOK, "create-pin-refs test\n", ""},
		{[]string{"version", "--help"}, ExitOK, "", "Usage: create-pin-refs version\n       create-pin-refs --version\n\nPrints the version, the commit it was built from and the Go release, on stdout.\n"},
		{[]string{"version", "extra"}, ExitUsage, "", "create-pin-refs: error: version takes no arguments (see --help)\n"},
		// runCmd fails the test if the token is printed.
		{[]string{"--version", "--auth-token=" + token}, ExitUsage, "", "create-pin-refs: error: --version takes no arguments (see --help)\n"},
	} {
		r := runCmd(t, nil, tt.args...)
		if r.code != tt.code || r.stdout != tt.stdout || r.stderr != tt.stderr {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit %d, %q, %q", tt.args, r.code, r.stdout, r.stderr, tt.code, tt.stdout, tt.stderr)
		}
	}
}

// TestVersionLine: --version prints the build's line, and a run in Actions
// starts with it, so that a log in a bug report says which build ran.
func TestVersionLine(t *testing.T) {
	const line = "create-pin-refs v1.4.0 (rev 0123456789ab, 2026-12-01, go1.26.8)"
	run := func(environ map[string]string, args ...string) output {
		var stdout, stderr strings.Builder
		code := Main(context.Background(), args, Env{
			Getenv: func(k string) string { return environ[k] },
			Stdout: &stdout, Stderr: &stderr,
			Version: "v1.4.0", VersionLine: line,
		})
		return output{code, stdout.String(), stderr.String()}
	}
	if r := run(nil, "--version"); r.code != ExitOK || r.stdout != line+"\n" {
		t.Errorf("--version: exit %d, stdout %q; want 0 and %q", r.code, r.stdout, line)
	}
	// Without a cache the run stops at once, after its first line.
	r := run(map[string]string{"GITHUB_ACTIONS": "true"})
	if first, _, _ := strings.Cut(r.stdout, "\n"); first != line || r.code != ExitUsage {
		t.Errorf("in Actions: exit %d, first line %q; want exit 2 after %q\n%s", r.code, first, line, r.stdout)
	}
	// Elsewhere the log starts with the run's own lines.
	if r := run(nil); strings.Contains(r.stdout+r.stderr, line) {
		t.Errorf("outside Actions, the log has the version line:\n%s", r.stderr)
	}
}
