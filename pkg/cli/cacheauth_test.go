package cli

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kwbauson/create-pin-refs/test/fakecachix"
)

// writeNetrc writes a netrc file and returns its path.
func writeNetrc(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "netrc")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func narinfoRequests(reqs []string) []string {
	return slices.DeleteFunc(slices.Clone(reqs), func(r string) bool { return !strings.HasSuffix(r, ".narinfo") })
}

// TestPrivateCacheBehindSubstituter: a private cache read through a
// --substituter. At the cache's own origin it gets the token; elsewhere (a
// mirror on another host) it gets none, the 401 says so and how to fix it,
// and a netrc entry for that host reads it, sent to that host alone.
func TestPrivateCacheBehindSubstituter(t *testing.T) {
	f := newVerifyFixture(t, token)
	mirror := fakecachix.Start(t, fakecachix.Options{Host: "127.0.0.2", Token: token, Caches: []fakecachix.Cache{{Name: "demo", Dir: f.ownDir}}})
	// A public upstream cache on 127.0.0.1: a netrc entry for 127.0.0.2
	// must not reach it.
	public := fakecachix.Start(t, fakecachix.Options{Caches: []fakecachix.Cache{{Name: "up", Dir: f.upDir}}})
	env := map[string]string{"CACHIX_AUTH_TOKEN": token}
	own := strings.TrimSuffix(f.srv.URL(), "/")
	for _, tt := range []struct {
		name        string
		substituter string
		netrc       string // "": no --netrc-file
		code        int
		want        []string
		notWant     []string
		mirrorAuth  bool // the mirror saw credentials
	}{
		{name: "at the cache's own uri", substituter: f.srv.CacheURL("demo"), code: ExitOK,
			want: []string{"2 complete, 1 split"}},
		{name: "elsewhere, with the token only", substituter: mirror.CacheURL("demo"), code: ExitError,
			want: []string{"401 Unauthorized", "a token was given, but it is not sent to this URL",
				"a hand-given --substituter elsewhere is sent no auth token, which goes only to the origin of the cache's own binary cache, " + own,
				"pass a --substituter with that origin", "machine 127.0.0.2 password TOKEN"},
			notWant: []string{"no credentials were sent", "needs --auth-token"}},
		{name: "elsewhere, with a netrc entry for its host", substituter: mirror.CacheURL("demo"), netrc: "machine 127.0.0.2 login ci password " + token + "\n", code: ExitOK,
			want: []string{"2 complete, 1 split"}, mirrorAuth: true},
		{name: "elsewhere, with a netrc entry for another host", substituter: mirror.CacheURL("demo"), netrc: "machine 127.0.0.1 password " + token + "\n", code: ExitError,
			want: []string{"a line `machine 127.0.0.2 password TOKEN` in --netrc-file, which has none for that host"}},
		{name: "elsewhere, with a wrong netrc password", substituter: mirror.CacheURL("demo"), netrc: "machine 127.0.0.2 password wrong-pass\n", code: ExitError,
			want: []string{"the --netrc-file entry for 127.0.0.2 was refused or lacks read access"}, notWant: []string{"wrong-pass"}, mirrorAuth: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mirror.ResetRequests()
			public.ResetRequests()
			f.srv.ResetRequests()
			args := []string{"--cache", "demo", "--cachix-url", f.srv.URL(), "--out", filepath.Join(t.TempDir(), "site"),
				"--substituter", tt.substituter, "--upstream", public.CacheURL("up"), "--verify", "warn"}
			if tt.netrc != "" {
				args = append(args, "--netrc-file", writeNetrc(t, tt.netrc))
			}
			r := runCmd(t, env, args...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d:\n%s", r.code, tt.code, r.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
			for _, w := range append(tt.notWant, token) {
				if strings.Contains(r.stderr, w) {
					t.Errorf("stderr has %q:\n%s", w, r.stderr)
				}
			}
			if got := narinfoRequests(mirror.Authorized()); (len(got) > 0) != tt.mirrorAuth {
				t.Errorf("the mirror saw credentials on %q, want some: %v", got, tt.mirrorAuth)
			}
			if got := public.Authorized(); len(got) > 0 {
				t.Errorf("the upstream cache on another host saw credentials on %q", got)
			}
		})
	}
}

// TestNetrcNotSentOnRedirect: a substituter with a netrc entry that
// redirects to another host is refused, and that host sees nothing.
func TestNetrcNotSentOnRedirect(t *testing.T) {
	f := newVerifyFixture(t, token)
	mirror := fakecachix.Start(t, fakecachix.Options{Host: "127.0.0.2", Token: token, Caches: []fakecachix.Cache{{Name: "demo", Dir: f.ownDir}}})
	elsewhere := fakecachix.Start(t, fakecachix.Options{Caches: []fakecachix.Cache{{Name: "demo", Dir: f.ownDir}}})
	mirror.RedirectCache("demo", elsewhere.CacheURL("demo"))
	r := runCmd(t, map[string]string{"CACHIX_AUTH_TOKEN": token}, "--cache", "demo", "--cachix-url", f.srv.URL(), "--out", filepath.Join(t.TempDir(), "site"),
		"--substituter", mirror.CacheURL("demo"), "--upstream", "none", "--verify", "warn",
		"--netrc-file", writeNetrc(t, "machine 127.0.0.2 password "+token+"\n"))
	if r.code != ExitError || !strings.Contains(r.stderr, "refused a redirect from http://127.0.0.2:") {
		t.Errorf("exit %d, want 1 refusing the redirect:\n%s", r.code, r.stderr)
	}
	if got := elsewhere.Requests(); len(got) > 0 {
		t.Errorf("the host redirected to saw %q", got)
	}
}

// TestPinSubstituterElsewhere: `pin --substituter` sends the token to the
// cache's own origin only, and a netrc entry to its host.
func TestPinSubstituterElsewhere(t *testing.T) {
	srv := pinFake(t, token)
	mirror := fakecachix.Start(t, fakecachix.Options{Host: "127.0.0.2", Token: token, Caches: []fakecachix.Cache{{Name: "demo", Dir: binaryCache(t, pushed, pushed2)}}})
	env := map[string]string{"CACHIX_AUTH_TOKEN": token}
	pin := func(args ...string) output {
		return runCmd(t, env, append([]string{"pin", "--cache", "demo", "--cachix-url", srv.URL(), "--wait", "0"}, append(args, "hello", pushed)...)...)
	}

	if r := pin("--substituter", srv.CacheURL("demo")); r.code != ExitOK {
		t.Errorf("at the cache's own uri: exit %d:\n%s", r.code, r.stderr)
	}
	r := pin("--substituter", mirror.CacheURL("demo"))
	if r.code != ExitError || !strings.Contains(r.stderr, "a token was given, but it is not sent to this URL") || !strings.Contains(r.stderr, "--netrc-file") || strings.Contains(r.stderr, "no credentials were sent") {
		t.Errorf("elsewhere: exit %d, want 1 saying the token is not sent there:\n%s", r.code, r.stderr)
	}
	if got := mirror.Authorized(); len(got) > 0 {
		t.Errorf("the token went to a substituter on another host: %q", got)
	}
	before := len(srv.PinRequests())
	r = pin("--substituter", mirror.CacheURL("demo"), "--netrc-file", writeNetrc(t, "machine 127.0.0.2 password "+token+"\n"))
	if r.code != ExitOK || len(srv.PinRequests()) != before+1 {
		t.Errorf("elsewhere with a netrc entry: exit %d:\n%s", r.code, r.stderr)
	}
	if got := mirror.Authorized(); len(got) != 1 {
		t.Errorf("the mirror saw credentials on %q, want one narinfo", got)
	}
	if r := pin("--netrc-file", filepath.Join(t.TempDir(), "absent")); r.code != ExitUsage || !strings.Contains(r.stderr, "--netrc-file") {
		t.Errorf("absent netrc file: exit %d, want 2 naming --netrc-file:\n%s", r.code, r.stderr)
	}
}
