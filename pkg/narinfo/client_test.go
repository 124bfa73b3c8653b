package narinfo_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kwbauson/create-pin-refs/pkg/httpauth"
	"github.com/kwbauson/create-pin-refs/pkg/narinfo"
	"github.com/kwbauson/create-pin-refs/pkg/retry"
	"github.com/kwbauson/create-pin-refs/test/fakecachix"
)

const (
	token = "narinfo-test-token"
	// The hashes of the narinfo files under testdata.
	cachixHash = "l9r346p3d25vs4g5v37f3r3f28js97kb"
	caHash     = "99fn01wm8hl8k6v5pnyi4lzlwk5zm9dz"
	absentHash = "00000000000000000000000000000000"
)

// cacheDir is a binary cache folder holding the narinfo files of testdata.
func cacheDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for hash, file := range map[string]string{cachixHash: "cachix.narinfo", caHash: "nix-ca.narinfo"} {
		data, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, hash+".narinfo"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// waits records the waits between attempts instead of sleeping.
type waits struct {
	mu  sync.Mutex
	got []time.Duration
}

func (w *waits) sleep(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.got = append(w.got, d)
	return ctx.Err()
}

func newClient(t *testing.T, url, tok string) (*narinfo.Client, *waits) {
	t.Helper()
	w := &waits{}
	c, err := narinfo.New(url, narinfo.Options{Token: tok, Policy: retry.Policy{Sleep: w.sleep}})
	if err != nil {
		t.Fatal(err)
	}
	return c, w
}

func TestGet(t *testing.T) {
	srv := fakecachix.Start(t, fakecachix.Options{Caches: []fakecachix.Cache{{Name: "demo", Dir: cacheDir(t)}}})
	c, _ := newClient(t, srv.CacheURL("demo"), "")
	ctx := t.Context()

	// Cachix's own format: base16 FileHash, unknown deriver.
	n, err := c.Get(ctx, cachixHash)
	if err != nil {
		t.Fatal(err)
	}
	if n.Deriver != "" || n.FileHash != "sha256:6b1c5a0f0ddba4dbb93b8d2ab1c26ea1b0d4cd1e41c4efa3a2e8b9e2b8b1a3c5" || n.NarSize != 226560 || len(n.References) != 2 {
		t.Errorf("Get(%s) = %+v", cachixHash, n)
	}
	n, err = c.Get(ctx, caHash)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(n.CA, "fixed:r:sha256:") {
		t.Errorf("CA = %q", n.CA)
	}

	_, err = c.Get(ctx, absentHash)
	if !errors.Is(err, narinfo.ErrNotFound) || errors.Is(err, narinfo.ErrUnauthorized) {
		t.Errorf("absent path: %v, want ErrNotFound", err)
	}
	if got := srv.Count("/cache/demo/" + absentHash + ".narinfo"); got != 1 {
		t.Errorf("a 404 was asked %d times, want once (no retry)", got)
	}
	// A narinfo describing another path than asked is corrupt.
	dir := cacheDir(t)
	data, _ := os.ReadFile(filepath.Join(dir, cachixHash+".narinfo"))
	if err := os.WriteFile(filepath.Join(dir, absentHash+".narinfo"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetCache(fakecachix.Cache{Name: "demo", Dir: dir}); err != nil {
		t.Fatal(err)
	}
	if _, err = c.Get(ctx, absentHash); !errors.Is(err, narinfo.ErrCorrupt) {
		t.Errorf("narinfo of another path: %v, want ErrCorrupt", err)
	}
}

func TestGetPrivate(t *testing.T) {
	srv := fakecachix.Start(t, fakecachix.Options{Token: token, Caches: []fakecachix.Cache{{Name: "priv", Dir: cacheDir(t)}}})
	ctx := t.Context()

	anon, _ := newClient(t, srv.CacheURL("priv"), "")
	_, err := anon.Get(ctx, cachixHash)
	var se *narinfo.StatusError
	if !errors.Is(err, narinfo.ErrUnauthorized) || !errors.As(err, &se) || se.StatusCode != 401 || !strings.Contains(err.Error(), "no credentials were sent") {
		t.Errorf("without a token: %v, want a 401 saying no credentials were sent", err)
	}
	wrong, _ := newClient(t, srv.CacheURL("priv"), "wrong")
	if _, err := wrong.Get(ctx, cachixHash); !errors.Is(err, narinfo.ErrUnauthorized) || !strings.Contains(err.Error(), "token was refused") {
		t.Errorf("with a wrong token: %v, want a 401 saying the token was refused", err)
	}
	c, _ := newClient(t, srv.CacheURL("priv"), token)
	if _, err := c.Get(ctx, cachixHash); err != nil {
		t.Errorf("with the token: %v", err)
	}
	// A token given for another URL: the 401 says so, not that none was given.
	withheld, werr := narinfo.New(srv.CacheURL("priv"), narinfo.Options{TokenWithheld: true})
	if werr != nil {
		t.Fatal(werr)
	}
	if _, err := withheld.Get(ctx, cachixHash); !errors.As(err, &se) || se.Auth != narinfo.AuthWithheld || strings.Contains(err.Error(), "no credentials were sent") || !strings.Contains(err.Error(), "a token was given, but it is not sent to this URL") {
		t.Errorf("with the token withheld: %v, want a 401 saying a token was given and not sent", err)
	}
	// A netrc entry's login and password, as Nix sends them.
	for _, tt := range []struct {
		password string
		wantErr  string
	}{{token, ""}, {"wrong", "login and password were refused"}} {
		basic, err := narinfo.New(srv.CacheURL("priv"), narinfo.Options{Basic: &httpauth.Basic{Login: "ci", Password: tt.password}, TokenWithheld: true})
		if err != nil {
			t.Fatal(err)
		}
		_, err = basic.Get(ctx, cachixHash)
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (!errors.As(err, &se) || se.Auth != narinfo.AuthBasic || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("basic auth with password %q: %v, want error %q", tt.password, err, tt.wantErr)
		}
	}
	if err != nil && strings.Contains(err.Error(), token) {
		t.Error("the error shows the token")
	}
}

func TestGetRetries(t *testing.T) {
	srv := fakecachix.Start(t, fakecachix.Options{Caches: []fakecachix.Cache{{Name: "demo", Dir: cacheDir(t)}}})
	ctx := t.Context()
	path := "/cache/demo/" + cachixHash + ".narinfo"

	tests := []struct {
		name       string
		n, status  int
		retryAfter string
		wantWaits  func([]time.Duration) bool
		wantErr    bool
	}{
		{"429 then success, as asked", 2, 429, "3", func(w []time.Duration) bool {
			return len(w) == 2 && w[0] == 3*time.Second && w[1] == 3*time.Second
		}, false},
		{"503 then success, with backoff", 1, 503, "", func(w []time.Duration) bool { return len(w) == 1 && w[0] > 0 }, false},
		{"dropped connection", 1, fakecachix.Disconnect, "", func(w []time.Duration) bool { return len(w) == 1 }, false},
		{"always 500", 99, 500, "", func(w []time.Duration) bool { return len(w) == retry.DefaultAttempts-1 }, true},
		{"a wait longer than allowed fails at once", 1, 429, "3600", func(w []time.Duration) bool { return len(w) == 0 }, true},
		{"501 does not heal: one attempt", 99, 501, "", func(w []time.Duration) bool { return len(w) == 0 }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, w := newClient(t, srv.CacheURL("demo"), "")
			srv.ResetRequests()
			srv.FailNextCache(tt.n, tt.status, tt.retryAfter)
			defer srv.FailNextCache(0, 0, "")
			_, err := c.Get(ctx, cachixHash)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Get = %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantWaits(w.got) {
				t.Errorf("waits %v", w.got)
			}
			if !tt.wantErr && srv.Count(path) != len(w.got)+1 {
				t.Errorf("%d requests for %d waits", srv.Count(path), len(w.got))
			}
		})
	}
}

// A private cache whose files moved to another host (a CDN): the cache gets
// the token, the other host never does (the redirect is refused). A public
// cache's redirect is followed.
func TestRedirectKeepsTheTokenHome(t *testing.T) {
	cdn := fakecachix.Start(t, fakecachix.Options{Caches: []fakecachix.Cache{{Name: "files", Dir: cacheDir(t)}}})
	home := fakecachix.Start(t, fakecachix.Options{Token: token, Caches: []fakecachix.Cache{{Name: "priv"}}})
	// Another host name for the same loopback address, and another port.
	home.RedirectCache("priv", strings.Replace(cdn.CacheURL("files"), "127.0.0.1", "localhost", 1))
	path := "/cache/files/" + cachixHash + ".narinfo"

	c, w := newClient(t, home.CacheURL("priv"), token)
	_, err := c.Get(t.Context(), cachixHash)
	var re *httpauth.RedirectError
	if !errors.As(err, &re) || len(w.got) > 0 {
		t.Fatalf("Get through a redirect to another host: %v (after %d waits), want a refused redirect at once", err, len(w.got))
	}
	if got := home.Authorized(); !slices.Contains(got, "GET /cache/priv/"+cachixHash+".narinfo") {
		t.Errorf("the cache itself did not get the token: %v", got)
	}
	if got := cdn.Authorized(); len(got) > 0 || cdn.Count(path) > 0 {
		t.Errorf("the other host received the request (%d) or the token (%v)", cdn.Count(path), got)
	}

	public := fakecachix.Start(t, fakecachix.Options{Caches: []fakecachix.Cache{{Name: "pub"}}})
	public.RedirectCache("pub", strings.Replace(cdn.CacheURL("files"), "127.0.0.1", "localhost", 1))
	c, _ = newClient(t, public.CacheURL("pub"), "")
	if n, err := c.Get(t.Context(), cachixHash); err != nil || n.NarSize != 226560 {
		t.Fatalf("Get through a public cache's redirect: %+v, %v", n, err)
	}
	if cdn.Count(path) != 1 || len(cdn.Authorized()) > 0 {
		t.Errorf("the redirect was not followed, or carried a token: %v", cdn.Requests())
	}
}

func TestNewRefusesTokenInClear(t *testing.T) {
	if _, err := narinfo.New("http://cache.example/", narinfo.Options{Token: token}); err == nil || strings.Contains(err.Error(), token) {
		t.Errorf("a token over plain http to another host: %v, want a refusal", err)
	}
	if _, err := narinfo.New("http://cache.example/", narinfo.Options{}); err != nil {
		t.Errorf("no token over plain http: %v", err)
	}
	for _, bad := range []string{"ftp://x", "https://u:p@x", "https://x/?q", "nope"} {
		if _, err := narinfo.New(bad, narinfo.Options{}); err == nil || strings.Contains(err.Error(), ":p@") {
			t.Errorf("New(%q) = %v, want an error without the password", bad, err)
		}
	}
}

// TestGetNameThatDoesNotResolve: a cache whose host name does not resolve is
// asked once, not five times, and the error names the URL and why.
func TestGetNameThatDoesNotResolve(t *testing.T) {
	dials := 0
	tr := &http.Transport{DialContext: func(_ context.Context, _, addr string) (net.Conn, error) {
		dials++
		host, _, _ := net.SplitHostPort(addr)
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}}
	w := &waits{}
	c, err := narinfo.New("https://nonexistent-cache.invalid", narinfo.Options{Transport: tr, Policy: retry.Policy{Sleep: w.sleep}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Get(t.Context(), cachixHash)
	var dns *net.DNSError
	var pe *retry.PermanentError
	if dials != 1 || len(w.got) != 0 || !errors.As(err, &dns) || !errors.As(err, &pe) {
		t.Fatalf("%d dials, waits %v, err = %v; want one dial and a *retry.PermanentError", dials, w.got, err)
	}
	for _, want := range []string{"https://nonexistent-cache.invalid/" + cachixHash + ".narinfo", "no such host", "not retried: a name that does not resolve"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %q, want it to hold %q", err, want)
		}
	}
}

// TestWarm: Warm asks for nix-cache-info, with the client's token, and
// leaves its connection open for the narinfo requests after it.
func TestWarm(t *testing.T) {
	dir := cacheDir(t)
	var (
		mu    sync.Mutex
		asked []string
		conns int
	)
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		files.ServeHTTP(w, r)
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			mu.Lock()
			conns++
			mu.Unlock()
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c, _ := newClient(t, srv.URL, token)
	c.Warm(context.Background())
	if _, err := c.Get(context.Background(), cachixHash); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"HEAD /nix-cache-info Bearer " + token, "GET /" + cachixHash + ".narinfo Bearer " + token}
	if !slices.Equal(asked, want) || conns != 1 {
		t.Errorf("asked %q on %d connections, want %q on 1", asked, conns, want)
	}
}

// TestCheckInfo: a URL serves a binary cache when its nix-cache-info has a
// StoreDir line; what else it answers is told apart for the caller.
func TestCheckInfo(t *testing.T) {
	for _, c := range []struct {
		name   string
		status int
		body   string
		want   error // nil: no error
	}{
		{"cache", http.StatusOK, "StoreDir: /nix/store\nWantMassQuery: 1\n", nil},
		{"absent", http.StatusNotFound, "", narinfo.ErrNotFound},
		{"private", http.StatusForbidden, "", narinfo.ErrUnauthorized},
		{"not a cache", http.StatusOK, "<html>hello</html>", narinfo.ErrCorrupt},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/cache/nix-cache-info" {
					http.NotFound(w, r)
					return
				}
				w.WriteHeader(c.status)
				_, _ = w.Write([]byte(c.body))
			}))
			t.Cleanup(srv.Close)
			cl, err := narinfo.New(srv.URL+"/cache", narinfo.Options{Policy: retry.Policy{Sleep: (&waits{}).sleep}})
			if err != nil {
				t.Fatal(err)
			}
			err = cl.CheckInfo(context.Background())
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("CheckInfo: %v, want %v", err, c.want)
			}
		})
	}
}
