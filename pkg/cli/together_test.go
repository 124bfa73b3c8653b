package cli

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kwbauson/create-pin-refs/pkg/retry"
	"github.com/kwbauson/create-pin-refs/test/fakecachix"
	"github.com/kwbauson/create-pin-refs/test/fakegithub"
)

// rendezvous is a transport that holds the request held names until the
// one until names has been sent: a run that sends them in turn, the held
// one first, waits until its attempt times out and fails. It records when
// each request was sent and answered, by name.
type rendezvous struct {
	held, until string
	name        func(*http.Request) string // "" for the requests it does not follow
	sent        chan struct{}
	once        sync.Once
	mu          sync.Mutex
	events      []string // "sent NAME", "answered NAME"
}

func (r *rendezvous) RoundTrip(req *http.Request) (*http.Response, error) {
	name := r.name(req)
	r.record("sent " + name)
	if name == r.until {
		r.once.Do(func() { close(r.sent) })
	}
	if name == r.held {
		select {
		case <-r.sent:
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	r.record("answered " + name)
	return resp, err
}

func (r *rendezvous) record(e string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *rendezvous) index(e string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, x := range r.events {
		if x == e {
			return i
		}
	}
	return -1
}

// TestRequestsGoOutTogether: requests that need nothing of each other do
// not wait for each other's answers: the live site's pins.json goes out
// before the pins are in (pages mode), the cache's description before the
// branch's head is (branch mode); the pins still go out after the head's
// answer, so that the commit is made on a head read before them.
func TestRequestsGoOutTogether(t *testing.T) {
	name := func(r *http.Request) string {
		switch p := r.URL.Path; {
		case strings.HasSuffix(p, "/api/v1/cache/demo/pin"):
			return "pins"
		case strings.HasSuffix(p, "/api/v1/cache/demo"):
			return "cache info"
		case strings.HasSuffix(p, "/site/pins.json"):
			return "earlier pins.json"
		case strings.HasSuffix(p, "/git/ref/heads/pins"):
			return "branch head"
		}
		return ""
	}
	for _, tc := range []struct {
		mode, held, until string
	}{
		{"pages", "pins", "earlier pins.json"},
		{"branch", "branch head", "cache info"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			cx := fakecachix.Start(t, fakecachix.Options{Caches: []fakecachix.Cache{{Name: "demo", Pins: examplePins(t)}}})
			args := []string{"--cache", "demo", "--cachix-url", cx.URL(), "--verify", "off", "--mode", tc.mode, "--out", filepath.Join(t.TempDir(), "site")}
			environ := map[string]string{}
			if tc.mode == "pages" {
				args = append(args, "--pages-url", startLiveSite(t).url)
			} else {
				if !fakegithub.HaveGit() {
					t.Skip("needs git")
				}
				gh := fakegithub.New(t, fakegithub.Options{Owner: "octo", Repo: "pins", Token: token})
				args = append(args, "--repo", "octo/pins", "--github-api-url", gh.APIURL())
				environ["GITHUB_TOKEN"] = token
			}
			rv := &rendezvous{held: tc.held, until: tc.until, name: name, sent: make(chan struct{})}
			var stderr strings.Builder
			code := Main(context.Background(), args, Env{
				Getenv:     func(k string) string { return environ[k] },
				Stdout:     &strings.Builder{},
				Stderr:     &stderr,
				HTTPClient: &http.Client{Transport: rv},
				Version:    "test",
				// A run that sends the held request alone fails at its
				// first attempt's end.
				Retry: retry.Policy{Attempts: 1, AttemptTimeout: 10 * time.Second},
			})
			if code != ExitOK {
				t.Fatalf("exit %d: %s was not sent before %s was answered:\n%s", code, tc.until, tc.held, &stderr)
			}
			if tc.mode == "branch" && rv.index("sent pins") < rv.index("answered branch head") {
				t.Errorf("the pins were asked for before the branch's head was in: %v", rv.events)
			}
		})
	}
}

// failOnce answers the first request of each name it is given 503, then
// passes requests on; the pins' 503 waits until the cache's description
// has been asked for again, so that a run logging retries as they happen
// would log the description's first.
type failOnce struct {
	name   func(*http.Request) string
	mu     sync.Mutex
	seen   map[string]int
	again  chan struct{} // closed when the description is asked for again
	closed bool
}

func (f *failOnce) RoundTrip(req *http.Request) (*http.Response, error) {
	name := f.name(req)
	f.mu.Lock()
	f.seen[name]++
	n := f.seen[name]
	if name == "cache info" && n == 2 && !f.closed {
		close(f.again)
		f.closed = true
	}
	f.mu.Unlock()
	if n > 1 || name == "" {
		return http.DefaultTransport.RoundTrip(req)
	}
	if name == "pins" {
		select {
		case <-f.again:
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
	}
	return &http.Response{StatusCode: http.StatusServiceUnavailable, Status: "503 Service Unavailable", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Body: http.NoBody, Request: req}, nil
}

// TestHeldRetryLines: the retries of the cache's description, read while
// the pins are, are logged once it is in, after the pins' own: the log
// reads the same however the answers arrive.
func TestHeldRetryLines(t *testing.T) {
	cx := fakecachix.Start(t, fakecachix.Options{Caches: []fakecachix.Cache{{Name: "demo", Pins: examplePins(t)}}})
	f := &failOnce{seen: map[string]int{}, again: make(chan struct{}), name: func(r *http.Request) string {
		switch p := r.URL.Path; {
		case strings.HasSuffix(p, "/api/v1/cache/demo/pin"):
			return "pins"
		case strings.HasSuffix(p, "/api/v1/cache/demo"):
			return "cache info"
		}
		return ""
	}}
	var stderr strings.Builder
	code := Main(context.Background(), []string{"--cache", "demo", "--cachix-url", cx.URL(), "--verify", "off", "--mode", "dir", "--out", filepath.Join(t.TempDir(), "site")}, Env{
		Getenv:     func(string) string { return "" },
		Stdout:     &strings.Builder{},
		Stderr:     &stderr,
		HTTPClient: &http.Client{Transport: f},
		Version:    "test",
		Retry:      retry.Policy{Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }, AttemptTimeout: 10 * time.Second},
	})
	if code != ExitOK {
		t.Fatalf("exit %d:\n%s", code, &stderr)
	}
	var order []string
	for line := range strings.Lines(stderr.String()) {
		switch {
		case strings.HasPrefix(line, "reading "), strings.HasPrefix(line, "read "):
			order = append(order, strings.TrimSpace(line))
		case strings.Contains(line, "attempt 1 of 5 failed"):
			order = append(order, "retry "+strings.Fields(line)[1])
		}
	}
	want := []string{"reading cache demo from " + cx.URL(), "reading pins of demo", "retry " + cx.URL() + "/api/v1/cache/demo/pin:", "retry " + cx.URL() + "/api/v1/cache/demo:", "read 7 pins"}
	if strings.Join(order, "\n") != strings.Join(want, "\n") {
		t.Errorf("log lines in the order\n%s\nwant\n%s\nlog:\n%s", strings.Join(order, "\n"), strings.Join(want, "\n"), &stderr)
	}
}

// TestWalkDoesNotWaitForTheEarlierIndex: the closures are walked while the
// previous site's index.html, which only the changed output needs, is
// still being read: the site answers it only once a narinfo file has been
// asked for.
func TestWalkDoesNotWaitForTheEarlierIndex(t *testing.T) {
	path := storePathN(1)
	narinfoAsked := make(chan struct{})
	var once sync.Once
	cache := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(narinfoAsked) })
		if r.URL.Path == "/"+strings.TrimPrefix(path, "/nix/store/")[:32]+".narinfo" {
			_, _ = w.Write([]byte(fakecachix.NarInfo{StorePath: path, NarSize: 1}.Text()))
			return
		}
		http.NotFound(w, r)
	}))
	defer cache.Close()
	var indexAnswered atomic.Bool
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/site/pins.json":
			_, _ = w.Write([]byte(`{"bundles": []}`))
		case "/site/index.html":
			select {
			case <-narinfoAsked:
				indexAnswered.Store(true)
				_, _ = w.Write([]byte("<html></html>"))
			case <-r.Context().Done():
			}
		default:
			http.NotFound(w, r)
		}
	}))
	defer site.Close()
	// A run that walks only once index.html is in gives up on it at its
	// first attempt's end.
	code, stderr := publishOnePin(t, path, cache.URL, site.URL+"/site/", 10*time.Second)
	if code != ExitOK || !indexAnswered.Load() {
		t.Fatalf("exit %d, index.html answered: %v; the walk waited for index.html:\n%s", code, indexAnswered.Load(), stderr)
	}
}

// TestEarlierBundlesReadDuringTheWalk: the earlier immutable bundles that
// the live site's pins.json lists are read while the closures are walked,
// not after: the narinfo here is answered only once a bundle was asked for.
func TestEarlierBundlesReadDuringTheWalk(t *testing.T) {
	path := storePathN(1)
	bundleAsked := make(chan struct{})
	var once sync.Once
	cache := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/"+strings.TrimPrefix(path, "/nix/store/")[:32]+".narinfo" {
			select {
			case <-bundleAsked:
				_, _ = w.Write([]byte(fakecachix.NarInfo{StorePath: path, NarSize: 1}.Text()))
			case <-r.Context().Done():
			}
			return
		}
		http.NotFound(w, r)
	}))
	defer cache.Close()
	const earlier = "b/0123456789abcdef0123456789abcdef.tar.gz"
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/site/pins.json":
			_, _ = w.Write([]byte(`{"bundles": [{"path": "` + earlier + `", "narHash": "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}]}`))
		case "/site/" + earlier:
			once.Do(func() { close(bundleAsked) })
			http.NotFound(w, r)
		default:
			http.NotFound(w, r)
		}
	}))
	defer site.Close()
	// A run that reads the bundles after the walk gives up on the narinfo
	// at its first attempt's end.
	code, stderr := publishOnePin(t, path, cache.URL, site.URL+"/site/", 3*time.Second)
	if code != ExitOK {
		t.Fatalf("exit %d; the earlier bundle was read only after the walk:\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "an earlier immutable bundle is not served again") {
		t.Errorf("the missing earlier bundle went unreported:\n%s", stderr)
	}
}

// publishOnePin publishes the pin hello at path in pages mode, verified
// against the cache at cacheURL, for the live site at siteURL, each request
// tried once within attempt; it returns the exit code and the log.
func publishOnePin(t *testing.T, path, cacheURL, siteURL string, attempt time.Duration) (int, string) {
	t.Helper()
	work := t.TempDir()
	pinsFile := filepath.Join(work, "pins.json")
	if err := os.WriteFile(pinsFile, []byte(`[{"name": "hello", "lastRevision": {"storePath": "`+path+`"}}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	code := Main(context.Background(), []string{"--pins-file", pinsFile, "--substituter", cacheURL, "--public-keys", fakecachix.PublicKey,
		"--upstream", "none", "--mode", "pages", "--pages-url", siteURL, "--out", filepath.Join(work, "site")}, Env{
		Getenv:  func(string) string { return "" },
		Stdout:  &strings.Builder{},
		Stderr:  &stderr,
		Version: "test",
		Retry:   retry.Policy{Attempts: 1, AttemptTimeout: attempt},
	})
	return code, stderr.String()
}
