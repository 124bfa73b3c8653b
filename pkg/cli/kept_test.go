package cli

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kwbauson/create-pin-refs/pkg/site"
	"github.com/kwbauson/create-pin-refs/test/ghoutput"
)

// liveSite plays GitHub Pages: it serves the folder of the last deployed
// artifact on 127.0.0.1.
type liveSite struct {
	dir string
	url string // base URL, ending in "/"
	srv *httptest.Server

	mu   sync.Mutex
	gets map[string]int // requests by path
}

// requests says how many requests asked for path (such as /site/pins.json).
func (s *liveSite) requests(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gets[path]
}

func startLiveSite(t *testing.T) *liveSite {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &liveSite{dir: filepath.Join(t.TempDir(), "live"), gets: map[string]int{}}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.gets[r.URL.Path]++
		s.mu.Unlock()
		http.FileServer(http.Dir(s.dir)).ServeHTTP(w, r)
	}))
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	s.srv, s.url = srv, srv.URL+"/site/"
	return s
}

// deploy replaces the whole site with the artifact, as a Pages deploy does.
func (s *liveSite) deploy(t *testing.T, artifact string) {
	t.Helper()
	root := filepath.Join(s.dir, "site")
	if err := os.RemoveAll(root); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(artifact)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(root, filepath.FromSlash(h.Name))
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func (s *liveSite) get(t *testing.T, path string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(s.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, data
}

// publishPages publishes one pin at storePath in pages mode from a fresh
// folder, as a fresh runner does, deploys the artifact, and returns the
// deployed pins.json.
func publishPages(t *testing.T, s *liveSite, storePath string, extra ...string) (site.ManifestData, result) {
	t.Helper()
	work := t.TempDir()
	pinsFile := filepath.Join(work, "pins.json")
	pinsJSON := fmt.Sprintf(`[{"name": "hello", "lastRevision": {"storePath": %q, "revision": 1, "artifacts": ["bin/hello"]}}]`, storePath)
	if err := os.WriteFile(pinsFile, []byte(pinsJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(work, "site")
	args := append([]string{"--pins-file", pinsFile, "--substituter", "https://demo.cachix.org", "--public-keys", "demo-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=",
		"--mode", "pages", "--pages-url", s.url, "--out", out}, extra...)
	r := run(t, nil, args...)
	if r.code != ExitOK {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	s.deploy(t, filepath.Join(work, "site-artifact", "artifact.tar"))
	var m site.ManifestData
	if code, data := s.get(t, site.Manifest); code != http.StatusOK || json.Unmarshal(data, &m) != nil {
		t.Fatalf("the deployed pins.json: %d %s", code, data)
	}
	return m, r
}

func storePathN(i int) string {
	return fmt.Sprintf("/nix/store/%dc9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-hello-2.%d", i, i)
}

// TestPagesKeepsBundlesOfLastPublishes publishes N+1 times with other pins each
// time: the live site then serves the immutable bundles of the last N
// publishes, byte for byte as first published, and not the first one.
func TestPagesKeepsBundlesOfLastPublishes(t *testing.T) {
	const keep = 3
	s := startLiveSite(t)
	var published []site.BundleRef
	tarballs := map[string][]byte{}
	for i := range keep + 1 {
		m, r := publishPages(t, s, storePathN(i), "--keep-bundles", fmt.Sprint(keep))
		if i == 0 && !strings.Contains(r.stderr, "notice: no pins.json at "+strings.TrimSuffix(s.url, "/")+" (a first publish?)") {
			t.Errorf("a first publish gives no notice:\n%s", r.stderr)
		}
		cur := m.Bundles[0]
		if cur.URL != s.url+cur.Path || !strings.HasPrefix(cur.NarHash, "sha256-") {
			t.Errorf("publish %d: bundle %+v, want its URL under %s and a narHash", i, cur, s.url)
		}
		_, tgz := s.get(t, site.TarballGz)
		tarballs[cur.Path] = tgz
		published = append(published, cur)
		if want := min(i+1, keep); len(m.Bundles) != want {
			t.Errorf("publish %d: pins.json lists %d bundles, want %d: %+v", i, len(m.Bundles), want, m.Bundles)
		}
		for j, b := range m.Bundles {
			if want := published[i-j]; b != want {
				t.Errorf("publish %d: bundle %d is %+v, want %+v (newest first)", i, j, b, want)
			}
		}
	}
	for i, b := range published {
		code, data := s.get(t, b.Path)
		switch {
		case i == 0 && code != http.StatusNotFound:
			t.Errorf("the first publish's bundle %s is still served (%d), with --keep-bundles %d", b.Path, code, keep)
		case i > 0 && (code != http.StatusOK || string(data) != string(tarballs[b.Path])):
			t.Errorf("publish %d's bundle %s: %d, %d bytes; want the tarball as published", i, b.Path, code, len(data))
		}
	}
	code, headers := s.get(t, site.Headers)
	last := published[len(published)-1]
	link := "  Link: <" + last.URL + "?narHash=" + strings.NewReplacer("+", "%2B", "/", "%2F", "=", "%3D").Replace(last.NarHash) + `>; rel="immutable"`
	if code != http.StatusOK || !strings.Contains(string(headers), "/site/pins.tar.gz\n"+link+"\n") || !strings.Contains(string(headers), "/site/pins\n"+link+"\n") {
		t.Errorf("_headers (%d) lacks %q for /site/pins and /site/pins.tar.gz:\n%s", code, link, headers)
	}
}

// TestPagesRepublishKeepsOneBundle: the same pins give the same immutable
// bundle, listed once.
func TestPagesRepublishKeepsOneBundle(t *testing.T) {
	s := startLiveSite(t)
	first, _ := publishPages(t, s, storePathN(1))
	second, _ := publishPages(t, s, storePathN(1))
	if len(second.Bundles) != 1 || second.Bundles[0] != first.Bundles[0] {
		t.Errorf("republishing the same pins: bundles %+v, want just %+v", second.Bundles, first.Bundles[0])
	}
}

// TestPagesDamagedBundleIsDropped: an earlier bundle that is gone or not what
// its narHash says is left out with a warning; the publish goes on.
func TestPagesDamagedBundleIsDropped(t *testing.T) {
	s := startLiveSite(t)
	a, _ := publishPages(t, s, storePathN(1))
	b, _ := publishPages(t, s, storePathN(2))
	if len(b.Bundles) != 2 {
		t.Fatalf("bundles %+v, want 2", b.Bundles)
	}
	// The first publish's bundle damaged, the second's gone.
	if err := os.WriteFile(filepath.Join(s.dir, "site", filepath.FromSlash(a.Bundles[0].Path)), []byte("not a tarball"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(s.dir, "site", filepath.FromSlash(b.Bundles[0].Path))); err != nil {
		t.Fatal(err)
	}
	c, r := publishPages(t, s, storePathN(3))
	if len(c.Bundles) != 1 {
		t.Errorf("bundles %+v, want only the new one", c.Bundles)
	}
	for _, want := range []string{a.Bundles[0].Path + ": not a gzip tarball", b.Bundles[0].Path + ": "} {
		if !strings.Contains(r.stderr, "warning: an earlier immutable bundle is not served again, so flake locks of it stop resolving: "+want) {
			t.Errorf("no warning about %s:\n%s", want, r.stderr)
		}
	}
}

// TestPagesUnreachableSite: a live site that cannot be reached costs its
// bundle list's budget, not the run's retries, and is a warning: its earlier
// bundles are lost.
func TestPagesUnreachableSite(t *testing.T) {
	s := startLiveSite(t)
	s.srv.Close()
	_, r := publishPagesOffline(t, s)
	if !strings.Contains(r.stderr, "warning: no earlier bundle list at "+strings.TrimSuffix(s.url, "/")) ||
		!strings.Contains(r.stderr, "allowed for reading the earlier pins.json") ||
		!strings.Contains(r.stderr, "so flake locks of earlier ones stop resolving") {
		t.Errorf("no warning naming the budget:\n%s", r.stderr)
	}
}

// TestPagesSiteNameDoesNotResolve: a --pages-url whose host name does not
// resolve (a custom domain not set up yet) is asked once and is a notice.
func TestPagesSiteNameDoesNotResolve(t *testing.T) {
	dials := 0
	hc := &http.Client{Transport: &http.Transport{DialContext: func(_ context.Context, _, addr string) (net.Conn, error) {
		dials++
		host, _, _ := net.SplitHostPort(addr)
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}}}
	work := t.TempDir()
	pinsFile := filepath.Join(work, "pins.json")
	if err := os.WriteFile(pinsFile, []byte(`[{"name": "hello", "lastRevision": {"storePath": "`+storePathN(1)+`"}}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	code := Main(context.Background(), []string{"--verify", "off", "--pins-file", pinsFile, "--substituter", "https://demo.cachix.org",
		"--mode", "pages", "--pages-url", "https://nonexistent-site.invalid/x/", "--out", filepath.Join(work, "site")},
		Env{Getenv: func(string) string { return "" }, Stdout: io.Discard, Stderr: &stderr, HTTPClient: hc, Version: "test"})
	if code != ExitOK {
		t.Fatalf("exit %d:\n%s", code, &stderr)
	}
	want := `notice: no earlier bundle list at https://nonexistent-site.invalid/x: Get "https://nonexistent-site.invalid/x/pins.json": lookup nonexistent-site.invalid: no such host (not retried: a name that does not resolve cannot heal within a run); is --pages-url right?`
	if dials != 1 || strings.Contains(stderr.String(), "retrying in") || !strings.Contains(stderr.String(), want) {
		t.Errorf("%d dials; want one and the notice %q:\n%s", dials, want, &stderr)
	}
}

func publishPagesOffline(t *testing.T, s *liveSite) (string, result) {
	t.Helper()
	work := t.TempDir()
	pinsFile := filepath.Join(work, "pins.json")
	if err := os.WriteFile(pinsFile, []byte(`[{"name": "hello", "lastRevision": {"storePath": "`+storePathN(1)+`"}}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(work, "site")
	r := run(t, nil, "--pins-file", pinsFile, "--substituter", "https://demo.cachix.org", "--mode", "pages", "--pages-url", s.url, "--out", out)
	if r.code != ExitOK {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	return out, r
}

// readOutputs parses a GITHUB_OUTPUT file of NAME<<DELIMITER heredocs.
func readOutputs(t *testing.T, file string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ghoutput.Parse(string(data))
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return got
}

// TestChangedOutput: in pages and dir modes the step output changed says
// whether the site differs from the previous publish's (pages: the live site,
// each run from a fresh folder as on a fresh runner; dir: --out): a first
// publish is a change, the same pins again are not, one pin moved is, and
// so is a site whose index page differs (one-name bundles turned off).
func TestChangedOutput(t *testing.T) {
	steps := []struct {
		name    string
		hello   int // hello's store path (storePathN)
		extra   []string
		changed string
	}{
		{"first publish", 1, nil, "true"},
		{"the same pins", 1, nil, "false"},
		{"one pin moved", 2, nil, "true"},
		{"the same pins again", 2, nil, "false"},
		{"one-name bundles off", 2, []string{"--per-pin-urls", "off"}, "true"},
		{"the same once more", 2, []string{"--per-pin-urls", "off"}, "false"},
	}
	for _, tt := range []struct {
		mode  string
		extra []string
	}{
		{"pages", nil},
		{"pages", []string{"--keep-bundles", "1"}},
		{"dir", nil},
	} {
		t.Run(strings.Join(append([]string{tt.mode}, tt.extra...), " "), func(t *testing.T) {
			s := startLiveSite(t)
			dirOut := filepath.Join(t.TempDir(), "site")
			for i, step := range steps {
				work := t.TempDir()
				pinsFile := filepath.Join(work, "pins.json")
				pinsJSON := fmt.Sprintf(`[{"name": "hello", "lastRevision": {"storePath": %q, "revision": 1}}, {"name": "world", "lastRevision": {"storePath": %q, "revision": 1}}]`, storePathN(step.hello), storePathN(9))
				if err := os.WriteFile(pinsFile, []byte(pinsJSON), 0o644); err != nil {
					t.Fatal(err)
				}
				out := filepath.Join(work, "site")
				if tt.mode == "dir" {
					out = dirOut
				}
				outputs := filepath.Join(work, "github_output")
				args := append([]string{"--pins-file", pinsFile, "--substituter", "https://demo.cachix.org", "--mode", tt.mode, "--pages-url", s.url, "--out", out}, tt.extra...)
				r := run(t, map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": outputs}, append(args, step.extra...)...)
				if r.code != ExitOK {
					t.Fatalf("step %d (%s): exit %d:\n%s", i, step.name, r.code, r.stderr)
				}
				if got := readOutputs(t, outputs)["changed"]; got != step.changed {
					t.Errorf("step %d (%s): changed = %q, want %q:\n%s", i, step.name, got, step.changed, r.stderr)
				}
				if tt.mode == "pages" {
					s.deploy(t, filepath.Join(work, "site-artifact", "artifact.tar"))
				}
			}
		})
	}
}
