package fakecachix_test

import (
	"bufio"
	"context"
	"errors"
	narinfopkg "github.com/kwbauson/create-pin-refs/pkg/narinfo"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kwbauson/create-pin-refs/pkg/retry"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
	"github.com/kwbauson/create-pin-refs/test/fakecachix"
)

const (
	token   = "fake-token"
	hash    = "0c0ay9a5hkd0hk2q4pq6ah6nkx7qmn0j"
	narFile = "1w1fff338fvdw53sqgamddn1b2xgds473pv6y13gizdbqjv4i5p3.nar.xz"
	narinfo = "StorePath: /nix/store/" + hash + "-hello\nURL: nar/" + narFile +
		"\nCompression: xz\nNarHash: sha256:1w1fff338fvdw53sqgamddn1b2xgds473pv6y13gizdbqjv4i5p3\nNarSize: 120\nReferences: \nDeriver: unknown-deriver\n"
)

var pins = []cachix.Pin{
	{Name: "hello.x86_64-linux", CreatedOn: "2024-05-01T10:00:00Z", LastRevision: cachix.Revision{
		StorePath: "/nix/store/" + hash + "-hello", Revision: 2, Artifacts: []string{"bin/hello"},
	}},
	{Name: "v1.7", LastRevision: cachix.Revision{StorePath: "/nix/store/" + hash + "-hello", Revision: 1}},
}

// binaryCacheDir writes a tiny hand-made binary cache, plus a secret file
// beside it that no request may reach.
func binaryCacheDir(t *testing.T) string {
	t.Helper()
	top := t.TempDir()
	dir := filepath.Join(top, "cache")
	files := map[string]string{
		"cache/nix-cache-info":       "StoreDir: /nix/store\n",
		"cache/" + hash + ".narinfo": narinfo,
		"cache/nar/" + narFile:       "not really xz",
		"secret":                     "top secret",
	}
	for name, content := range files {
		path := filepath.Join(top, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("../secret", filepath.Join(dir, "escape.narinfo")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// noSleep records waits instead of sleeping.
type noSleep struct {
	mu  sync.Mutex
	got []time.Duration
}

func (n *noSleep) sleep(ctx context.Context, d time.Duration) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.got = append(n.got, d)
	return ctx.Err()
}

func newClient(t *testing.T, s *fakecachix.Server, tok string) (*cachix.Client, *noSleep) {
	t.Helper()
	ns := &noSleep{}
	c, err := cachix.New(s.URL(), cachix.WithToken(tok), cachix.WithRetry(retry.Policy{Sleep: ns.sleep}))
	if err != nil {
		t.Fatal(err)
	}
	return c, ns
}

func TestAPI(t *testing.T) {
	s := fakecachix.Start(t, fakecachix.Options{
		Caches:     []fakecachix.Cache{{Name: "demo", Pins: pins, PublicSigningKeys: []string{"demo-1:AAAA"}, Dir: binaryCacheDir(t)}},
		Token:      token,
		PathPrefix: "/prefix",
	})
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") || !strings.HasSuffix(s.URL(), "/prefix") {
		t.Fatalf("URL() = %q, want http://127.0.0.1:PORT/prefix", s.URL())
	}
	c, _ := newClient(t, s, token)
	ctx := context.Background()

	got, err := c.Pins(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(pins, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("pins (-want +got):\n%s", diff)
	}
	// On the wire, as Cachix sends it: [] (the client makes it nil).
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+"/api/v1/cache/demo/pin", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`"artifacts":\s*\[\]`).Match(body) || regexp.MustCompile(`"artifacts":\s*null`).Match(body) {
		t.Errorf("an empty artifact list is not sent as []: %s", body)
	}

	info, err := c.Cache(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	want := &cachix.CacheInfo{
		Name:                       "demo",
		URI:                        s.URL() + "/cache/demo",
		PublicSigningKeys:          []string{"demo-1:AAAA"},
		GithubUsername:             "fakecachix",
		Permission:                 "Read",
		PreferredCompressionMethod: "ZSTD",
	}
	if diff := cmp.Diff(want, info); diff != "" {
		t.Errorf("cache info (-want +got):\n%s", diff)
	}
	if u, err := url.Parse(info.URI); err != nil || u.Scheme != "http" || u.RawQuery != "" || info.URI != s.CacheURL("demo") {
		t.Errorf("uri %q is not a plain http URL equal to CacheURL %q", info.URI, s.CacheURL("demo"))
	}

	s.SetPins("demo", pins[:1])
	if got, err := c.Pins(ctx, "demo"); err != nil || len(got) != 1 {
		t.Errorf("after SetPins: %d pins, %v; want 1", len(got), err)
	}

	if _, err := c.Pins(ctx, "other"); !errors.Is(err, cachix.ErrNotFound) {
		t.Errorf("unknown cache: error = %v, want ErrNotFound", err)
	}

	anon, _ := newClient(t, s, "")
	if _, err := anon.Pins(ctx, "demo"); !errors.Is(err, cachix.ErrUnauthorized) || !strings.Contains(err.Error(), "needs an auth token") {
		t.Errorf("without token: error = %v, want ErrUnauthorized", err)
	}
	wrong, _ := newClient(t, s, "wrong")
	if _, err := wrong.Cache(ctx, "demo"); !errors.Is(err, cachix.ErrUnauthorized) {
		t.Errorf("wrong token: error = %v, want ErrUnauthorized", err)
	}

	s.SetToken("")
	if info, err := anon.Cache(ctx, "demo"); err != nil || !info.IsPublic {
		t.Errorf("public cache: %+v, %v; want isPublic", info, err)
	}

	wantLog := []string{
		"GET /api/v1/cache/demo/pin",
		"GET /api/v1/cache/demo/pin", // read as it is on the wire
		"GET /api/v1/cache/demo",
		"GET /api/v1/cache/demo/pin",
		"GET /api/v1/cache/other/pin",
		"GET /api/v1/cache/demo/pin",
		"GET /api/v1/cache/demo",
		"GET /api/v1/cache/demo",
	}
	if diff := cmp.Diff(wantLog, s.Requests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if n := s.Count("/api/v1/cache/demo/pin"); n != 4 {
		t.Errorf("Count(pin) = %d, want 4", n)
	}
	s.ResetRequests()
	if n := len(s.Requests()); n != 0 {
		t.Errorf("%d requests after reset", n)
	}
}

func TestFailNext(t *testing.T) {
	tests := []struct {
		name       string
		n, status  int
		retryAfter string
		wantCalls  int
		wantErr    string
		wantSleeps []time.Duration
	}{
		{name: "503 twice", n: 2, status: 503, wantCalls: 3},
		{name: "429 with Retry-After", n: 1, status: 429, retryAfter: "4", wantCalls: 2, wantSleeps: []time.Duration{4 * time.Second}},
		{name: "disconnect", n: 1, status: fakecachix.Disconnect, wantCalls: 2},
		{name: "more failures than attempts", n: 9, status: 500, wantCalls: retry.DefaultAttempts, wantErr: "gave up after 5 attempts"},
		{name: "404 is not retried", n: 1, status: 404, wantCalls: 1, wantErr: "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fakecachix.Start(t, fakecachix.Options{Caches: []fakecachix.Cache{{Name: "demo", Pins: pins}}})
			c, ns := newClient(t, s, "")
			s.FailNext(tt.n, tt.status, tt.retryAfter)
			_, err := c.Pins(context.Background(), "demo")
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
			if n := s.Count("/api/v1/cache/demo/pin"); n != tt.wantCalls {
				t.Errorf("%d calls, want %d", n, tt.wantCalls)
			}
			if tt.wantSleeps != nil {
				if diff := cmp.Diff(tt.wantSleeps, ns.got); diff != "" {
					t.Errorf("sleeps (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestBinaryCache(t *testing.T) {
	s := fakecachix.Start(t, fakecachix.Options{
		Caches:     []fakecachix.Cache{{Name: "demo", Dir: binaryCacheDir(t)}, {Name: "empty"}},
		Token:      token,
		PathPrefix: "/p/",
	})
	base := s.CacheURL("demo")
	tests := []struct {
		name     string
		url      string
		auth     func(*http.Request)
		head     bool
		status   int
		ctype    string
		body     string
		wantAuth bool // WWW-Authenticate expected
	}{
		{name: "narinfo", url: base + "/" + hash + ".narinfo", status: 200, ctype: "text/x-nix-narinfo", body: narinfo},
		{name: "narinfo HEAD", url: base + "/" + hash + ".narinfo", head: true, status: 200, ctype: "text/x-nix-narinfo"},
		{name: "narinfo with basic auth", url: base + "/" + hash + ".narinfo", auth: func(r *http.Request) { r.SetBasicAuth("netrc-user", token) }, status: 200, body: narinfo},
		{name: "nix-cache-info", url: base + "/nix-cache-info", status: 200, ctype: "text/x-nix-cache-info", body: "StoreDir: /nix/store\n"},
		{name: "nar", url: base + "/nar/" + narFile, status: 200, ctype: "application/x-nix-nar", body: "not really xz"},
		{name: "missing narinfo", url: base + "/" + strings.Repeat("a", 32) + ".narinfo", status: 404},
		{name: "folder", url: base + "/nar", status: 404},
		{name: "symlink out of the folder", url: base + "/escape.narinfo", status: 404},
		{name: "encoded dot dot", url: base + "/%2e%2e/secret", status: 404},
		{name: "encoded slash", url: base + "/..%2fsecret", status: 404},
		{name: "too deep", url: base + "/nar/x/y", status: 404},
		{name: "unknown cache", url: s.CacheURL("nope") + "/nix-cache-info", status: 404},
		{name: "no directory: Cachix's nix-cache-info", url: s.CacheURL("empty") + "/nix-cache-info", status: 200, body: fakecachix.CacheInfoFile},
		{name: "no auth", url: base + "/nix-cache-info", auth: func(*http.Request) {}, status: 401, wantAuth: true, body: `{"error":"Unauthorized"}`},
		{name: "wrong basic password", url: base + "/nix-cache-info", auth: func(r *http.Request) { r.SetBasicAuth("u", "nope") }, status: 401, wantAuth: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := http.MethodGet
			if tt.head {
				method = http.MethodHead
			}
			req, err := http.NewRequest(method, tt.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+token)
			if tt.auth != nil {
				req.Header.Del("Authorization")
				tt.auth(req)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d (body %q)", resp.StatusCode, tt.status, body)
			}
			if tt.ctype != "" && resp.Header.Get("Content-Type") != tt.ctype {
				t.Errorf("Content-Type = %q, want %q", resp.Header.Get("Content-Type"), tt.ctype)
			}
			if tt.body != "" && string(body) != tt.body {
				t.Errorf("body = %q, want %q", body, tt.body)
			}
			if strings.Contains(string(body), "top secret") {
				t.Errorf("served the file outside the cache folder")
			}
			if got := resp.Header.Get("WWW-Authenticate") != ""; got != tt.wantAuth {
				t.Errorf("WWW-Authenticate present = %v, want %v", got, tt.wantAuth)
			}
		})
	}
}

// TestRawTraversal sends paths that Go's client would not, byte for byte.
func TestRawTraversal(t *testing.T) {
	s := fakecachix.Start(t, fakecachix.Options{Caches: []fakecachix.Cache{{Name: "demo", Dir: binaryCacheDir(t)}}})
	u, err := url.Parse(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{
		"/cache/demo/../secret",
		"/cache/demo/../../cache/demo/../secret",
		"/cache/demo/./../secret",
		"/cache/../cache/demo/../secret",
		"/api/v1/cache/../../../cache/demo/../secret",
	} {
		conn, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: "+u.Host+"\r\nConnection: close\r\n\r\n")
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		conn.Close()
		if resp.StatusCode != http.StatusNotFound || strings.Contains(string(body), "secret") {
			t.Errorf("GET %s: %d %q, want 404", path, resp.StatusCode, body)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	s := fakecachix.Start(t, fakecachix.Options{Caches: []fakecachix.Cache{{Name: "demo", Pins: pins}}})
	c, _ := newClient(t, s, "")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if i%2 == 0 {
				s.SetPins("demo", pins[:i%2+1])
				s.FailNext(0, 0, "")
				return
			}
			if _, err := c.Pins(context.Background(), "demo"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := s.Count("/api/v1/cache/demo/pin"); n != 4 {
		t.Errorf("%d calls, want 4", n)
	}
}

func TestNewRejectsBadPrefix(t *testing.T) {
	for _, p := range []string{"/a/../b", "/a b", "/a?x"} {
		if s, err := fakecachix.New(fakecachix.Options{PathPrefix: p}); err == nil {
			s.Close()
			t.Errorf("prefix %q accepted", p)
		}
	}
}

func TestHost(t *testing.T) {
	s := fakecachix.Start(t, fakecachix.Options{Host: "127.0.0.2", Caches: []fakecachix.Cache{{Name: "demo"}}})
	if !strings.HasPrefix(s.CacheURL("demo"), "http://127.0.0.2:") {
		t.Errorf("CacheURL = %s, want it on 127.0.0.2", s.CacheURL("demo"))
	}
	resp, err := http.Get(s.CacheURL("demo") + "/nix-cache-info")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status %d", resp.StatusCode)
	}
	for _, h := range []string{"10.0.0.1", "::1", "localhost"} {
		if s, err := fakecachix.New(fakecachix.Options{Host: h}); err == nil {
			s.Close()
			t.Errorf("host %q accepted", h)
		}
	}
}

// TestPublicKey: the narinfo files written are signed by PublicKey.
func TestPublicKey(t *testing.T) {
	n, err := narinfopkg.Parse(fakecachix.NarInfo{StorePath: fakecachix.StorePath("a"), References: []string{fakecachix.StorePath("b")}, NarSize: 3}.Text())
	if err != nil {
		t.Fatal(err)
	}
	if by, err := n.SignedBy([]string{fakecachix.PublicKey}); err != nil || by != "fake-1" {
		t.Errorf("signed by %q (%v), want fake-1", by, err)
	}
}
