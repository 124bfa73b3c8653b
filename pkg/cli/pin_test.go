package cli

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/kwbauson/create-pin-refs/pkg/pins"
	"github.com/kwbauson/create-pin-refs/test/fakecachix"
)

const (
	pushed  = "/nix/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-hello-2.12"
	pushed2 = "/nix/store/1c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-hello-2.13"
	missing = "/nix/store/9c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-hello-2.14"
)

// binaryCache is a folder holding the narinfos of paths, as `nix copy --to
// file://` writes them (only the first line matters here).
func binaryCache(t *testing.T, paths ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, p := range paths {
		// Whole narinfos: a publish reads them to verify the pins.
		if err := fakecachix.WriteNarInfos(dir, fakecachix.NarInfo{StorePath: p, NarSize: 1024}); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// pinFake is a fake Cachix with the cache "demo" holding pushed and pushed2;
// private, when readToken is set.
func pinFake(t *testing.T, readToken string) *fakecachix.Server {
	srv := fakecachix.Start(t, fakecachix.Options{
		Token:      readToken,
		PathPrefix: "/prefix",
		Caches:     []fakecachix.Cache{{Name: "demo", Dir: binaryCache(t, pushed, pushed2)}},
	})
	srv.SetWriteToken(token)
	return srv
}

func lastBody(t *testing.T, srv *fakecachix.Server) map[string]any {
	t.Helper()
	reqs := srv.PinRequests()
	if len(reqs) == 0 {
		t.Fatal("no pin was created")
	}
	var m map[string]any
	if err := json.Unmarshal(reqs[len(reqs)-1].Body, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestPin(t *testing.T) {
	srv := pinFake(t, "")
	env := map[string]string{"CACHIX_AUTH_TOKEN": token}
	pin := func(args ...string) output {
		return runCmd(t, env, append([]string{"pin", "--cache", "demo", "--cachix-url", srv.URL()}, args...)...)
	}

	r := pin("hello.x86_64-linux", pushed, "--artifact", "bin/hello", "--keep-revisions", "5")
	if r.code != ExitOK || r.stdout != "" {
		t.Fatalf("exit %d, stdout %q:\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "pinned hello.x86_64-linux to "+pushed+" in cache demo (keep: last 5 revisions, revision 1)") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	body := lastBody(t, srv)
	want := map[string]any{"name": "hello.x86_64-linux", "storePath": pushed, "artifacts": []any{"bin/hello"}, "keep": map[string]any{"tag": "Revisions", "contents": 5.0}}
	if !jsonEqual(body, want) {
		t.Errorf("body = %v, want %v", body, want)
	}

	// Again, through a result link as nix build leaves it: the next revision.
	link := filepath.Join(t.TempDir(), "result")
	if err := os.Symlink(pushed2, link); err != nil {
		t.Fatal(err)
	}
	r = pin("hello.x86_64-linux", link, "--keep-forever")
	if r.code != ExitOK || !strings.Contains(r.stderr, link+" is "+pushed2) || !strings.Contains(r.stderr, "revision 2)") {
		t.Fatalf("re-pin: exit %d:\n%s", r.code, r.stderr)
	}
	if body := lastBody(t, srv); body["storePath"] != pushed2 || !jsonEqual(body["keep"], map[string]any{"tag": "Forever"}) || !jsonEqual(body["artifacts"], []any{}) {
		t.Errorf("re-pin body = %v", body)
	}
	if revs := srv.Revisions("demo", "hello.x86_64-linux"); len(revs) != 2 || revs[1].Revision != 2 {
		t.Errorf("revisions = %+v", revs)
	}
	if r := runCmd(t, nil, "resolve", "--cache", "demo", "--cachix-url", srv.URL(), "--system", "x86_64-linux", "hello"); r.stdout != pushed2+"\n" {
		t.Errorf("resolve after re-pin: %q\n%s", r.stdout, r.stderr)
	}

	// {system} is the system this runs on, as in --pin.
	system, known := pins.NixSystem(runtime.GOOS, runtime.GOARCH)
	if !known {
		t.Skipf("Nix has no name for %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	if r := pin("tool.{system}", pushed); r.code != ExitOK || !strings.Contains(r.stderr, "pinned tool."+system+" to ") {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	if body := lastBody(t, srv); body["name"] != "tool."+system {
		t.Errorf("pinned as %v, want tool.%s", body["name"], system)
	}
}

func TestPinRefused(t *testing.T) {
	srv := pinFake(t, "")
	env := map[string]string{"CACHIX_AUTH_TOKEN": token}
	base := []string{"pin", "--cache", "demo", "--cachix-url", srv.URL()}
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		err  string
	}{
		{"not pushed", env, []string{"hello", missing}, ExitError,
			`pin "hello": ` + missing + ` is not in the binary cache (GET ` + srv.CacheURL("demo") + `/9c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1.narinfo: 404 Not Found): push it to cache "demo" first (cachix push demo ` + missing + `)`},
		{"no token", nil, []string{"hello", pushed}, ExitUsage, "--auth-token: required to pin"},
		{"token without write access", map[string]string{"CACHIX_AUTH_TOKEN": "read-only-token"}, []string{"hello", pushed}, ExitError,
			`the auth token was refused or lacks write access to cache "demo"`},
		{"not a link", env, []string{"hello", plain}, ExitError, `pin "hello": ` + plain + `: not a store path nor a symlink to one`},
		{"bad store path", env, []string{"hello", "/nix/store/short"}, ExitError, `pin "hello": /nix/store/short leads to`},
		{"bad artifact", env, []string{"hello", pushed, "--artifact", "../etc"}, ExitError, `pin "hello": --artifact: "../etc" is not a plain relative path`},
		{"reserved name", env, []string{"__functor", pushed}, ExitError, `pin "__functor": the name: "__functor" is reserved by Nix`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := len(srv.PinRequests())
			r := runCmd(t, tt.env, append(base, tt.args...)...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.err) {
				t.Errorf("exit %d:\n%s\nwant exit %d and %q", r.code, r.stderr, tt.code, tt.err)
			}
			if n := len(srv.PinRequests()) - before; n != 0 {
				t.Errorf("%d pins created", n)
			}
		})
	}
}

func TestPinRetriesAndWaits(t *testing.T) {
	env := map[string]string{"CACHIX_AUTH_TOKEN": token}
	t.Run("500 then success", func(t *testing.T) {
		srv := pinFake(t, "")
		srv.FailPins(1, http.StatusInternalServerError)
		r := runCmd(t, env, "pin", "--cache", "demo", "--cachix-url", srv.URL(), "hello", pushed)
		if r.code != ExitOK || !strings.Contains(r.stderr, "retrying") || len(srv.PinRequests()) != 1 {
			t.Fatalf("exit %d, %d pins:\n%s", r.code, len(srv.PinRequests()), r.stderr)
		}
		posts := 0
		for _, req := range srv.Requests() {
			if strings.HasPrefix(req, "POST ") {
				posts++
			}
		}
		if posts != 2 {
			t.Errorf("%d POSTs, want 2", posts)
		}
	})
	t.Run("listed late", func(t *testing.T) {
		srv := pinFake(t, "")
		srv.SetListLag(1)
		r := runCmd(t, env, "pin", "--cache", "demo", "--cachix-url", srv.URL(), "--wait", "50ms", "hello", pushed)
		if r.code != ExitOK || !strings.Contains(r.stderr, "revision 1)") {
			t.Fatalf("exit %d:\n%s", r.code, r.stderr)
		}
		if n := srv.Count("/api/v1/cache/demo/pin"); n != 1+2 {
			t.Errorf("%d requests to …/pin, want the POST and 2 reads", n)
		}
	})
	t.Run("never listed", func(t *testing.T) {
		srv := pinFake(t, "")
		srv.SetListLag(1000)
		r := runCmd(t, env, "pin", "--cache", "demo", "--cachix-url", srv.URL(), "--wait", "30ms", "hello", pushed)
		if r.code != ExitOK || !strings.Contains(r.stderr, `warning: Cachix accepted pin "hello" of cache "demo", but its list did not show it`) {
			t.Fatalf("exit %d:\n%s", r.code, r.stderr)
		}
	})
	t.Run("private cache", func(t *testing.T) {
		srv := pinFake(t, "read-"+token)
		srv.SetWriteToken("")
		// One token reads and writes: the binary cache needs it too.
		r := runCmd(t, map[string]string{"CACHIX_AUTH_TOKEN": "read-" + token}, "pin", "--cache", "demo", "--cachix-url", srv.URL(), "hello", pushed)
		if r.code != ExitOK {
			t.Fatalf("exit %d:\n%s", r.code, r.stderr)
		}
	})
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
