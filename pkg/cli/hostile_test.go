package cli

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/kwbauson/create-pin-refs/pkg/retry"
	"github.com/kwbauson/create-pin-refs/test/fakecachix"
	"github.com/kwbauson/create-pin-refs/test/fakegithub"
)

// commandLines are the lines a runner would take as workflow commands, were
// this output shown in a workflow's `run:` step.
func commandLines(s string) []string {
	var out []string
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }) {
		if strings.HasPrefix(strings.TrimLeftFunc(l, unicode.IsSpace), "::") || strings.Contains(l, "##[") {
			out = append(out, l)
		}
	}
	return out
}

// foreignToken is shaped like a GitHub token the run was never given.
var foreignToken = "ghp_" + strings.Repeat("Xy4", 12)

// TestServerTextOutsideActions: outside Actions too (the program may run in a
// workflow's `run:` step), GitHub's message reaches stderr without starting a
// workflow command or showing a token.
func TestServerTextOutsideActions(t *testing.T) {
	if !fakegithub.HaveGit() {
		t.Skip("needs git")
	}
	cx := fakecachix.Start(t, fakecachix.Options{Caches: []fakecachix.Cache{{Name: "demo", Pins: examplePins(t)}}})
	gh := fakegithub.New(t, fakegithub.Options{Owner: "octo", Repo: "pins", Token: token})
	gh.FailNextWith(1, 403, "nope\n  ::warning title=Injected::x ##[warning]y\rBearer "+foreignToken+" or "+token)
	r := run(t, map[string]string{"GITHUB_TOKEN": token}, "--cache", "demo", "--cachix-url", cx.URL(), "--out", t.TempDir(),
		"--mode", "branch", "--repo", "octo/pins", "--github-api-url", gh.APIURL())
	if r.code != ExitError || !strings.Contains(r.stderr, "Injected") {
		t.Fatalf("exit %d, want 1 with the server's message:\n%s", r.code, r.stderr)
	}
	if cmds := commandLines(r.stderr); len(cmds) > 0 {
		t.Errorf("stderr holds workflow commands: %q", cmds)
	}
	if strings.Contains(r.stderr, foreignToken) {
		t.Errorf("stderr shows the token the server echoed:\n%s", r.stderr)
	}
}

// TestTokenAsAnotherFlagsValue: a token given by mistake as another flag's
// value is not printed in the usage error, whether it looks like a token or
// is a secret the run was given.
func TestTokenAsAnotherFlagsValue(t *testing.T) {
	for _, tt := range []struct {
		name, secret string
		args         []string
	}{
		{"shaped like a GitHub token, as a stray argument", foreignToken, []string{"--cache", "c", "--allow-empty", foreignToken}},
		{"shaped like a GitHub token, as a value", foreignToken, []string{"--cache", "c", "--mode", foreignToken}},
		{"the run's token, given before the mistake", "plain-secret-1234", []string{"--github-token", "plain-secret-1234", "--cache", "c", "--on-invalid", "plain-secret-1234"}},
		{"the run's token, given after the mistake", "plain-secret-1234", []string{"--mode=plain-secret-1234", "--cache", "c", "--github-token=plain-secret-1234"}},
		{"before an unknown flag", "plain-secret-1234", []string{"--github-token", "plain-secret-1234", "--cahce", "plain-secret-1234"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, nil, tt.args...)
			if r.code != ExitUsage {
				t.Errorf("exit %d, want 2", r.code)
			}
			if strings.Contains(r.stderr, tt.secret) {
				t.Errorf("stderr shows the token:\n%s", r.stderr)
			}
			if !strings.Contains(r.stderr, "--help") {
				t.Errorf("the usage error does not point to --help:\n%s", r.stderr)
			}
		})
	}
}

// TestPinsFileEdgeCases: a name that is not UTF-8 is refused by name and
// field, not published with U+FFFD in it; an artifact listed twice is one.
func TestPinsFileEdgeCases(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const path = "/nix/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-rg"
	badName := write("bad-name.json", `[{"name": "a`+"\xff"+`b", "lastRevision": {"storePath": "`+path+`", "revision": 1, "artifacts": []}},
		{"name": "ok", "lastRevision": {"storePath": "`+path+`", "revision": 1, "artifacts": ["bin/rg", "bin/rg"]}}]`)
	args := func(pins, out string, extra ...string) []string {
		return append([]string{"--pins-file", pins, "--substituter", "https://demo.cachix.org", "--out", out}, extra...)
	}
	r := run(t, nil, args(badName, filepath.Join(dir, "fail"))...)
	if r.code != ExitError || !strings.Contains(r.stderr, `pin "a\xffb": name: not valid UTF-8`) {
		t.Errorf("exit %d, want 1 naming the pin and the field:\n%s", r.code, r.stderr)
	}
	out := filepath.Join(dir, "skip")
	if r := run(t, nil, args(badName, out, "--on-invalid", "skip")...); r.code != ExitOK {
		t.Fatalf("with --on-invalid=skip: exit %d:\n%s", r.code, r.stderr)
	}
	m := readManifest(t, out)
	if len(m.Pins) != 1 || m.Pins[0].Name != "ok" || m.Pins[0].Program != "bin/rg" {
		t.Errorf("pins.json holds %+v; want the one pin ok with program bin/rg", m.Pins)
	}
}

// TestUnreachableCachixNamesTheOption: when no attempt got an answer, the
// error says which option holds the URL.
func TestUnreachableCachixNamesTheOption(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	var stdout, stderr strings.Builder
	code := Main(context.Background(), []string{"--cache", "demo", "--cachix-url", closed, "--out", t.TempDir()}, Env{
		Getenv: func(string) string { return "" },
		Stdout: &stdout, Stderr: &stderr, Version: "test",
		Retry: retry.Policy{Attempts: 2, Sleep: func(context.Context, time.Duration) error { return nil }},
	})
	if code != ExitError || !strings.Contains(stderr.String(), "--cachix-url") {
		t.Errorf("exit %d, want 1 with a hint at --cachix-url:\n%s", code, stderr.String())
	}
}

// TestConcurrentReadsLogSafely: the cache's description and its pins are read
// at once, and both retry against a server that fails; their log lines go
// through one reporter (run with -race).
func TestConcurrentReadsLogSafely(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "busy", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	var out strings.Builder
	code := Main(context.Background(), []string{"--cache", "demo", "--cachix-url", srv.URL, "--out", t.TempDir()}, Env{
		Getenv: func(string) string { return "" },
		Stdout: &out, Stderr: &out, Version: "test",
		Retry: retry.Policy{Attempts: 4, Sleep: func(context.Context, time.Duration) error { return nil }},
	})
	if code != ExitError || strings.Count(out.String(), "retrying") < 2 {
		t.Errorf("exit %d, want 1 after retries of both requests:\n%s", code, out.String())
	}
}
