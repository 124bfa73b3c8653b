package kept

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kwbauson/create-pin-refs/pkg/retry"
	"github.com/kwbauson/create-pin-refs/pkg/site"
)

// clock is a fake clock that the policy's waits move on, so that a budget
// is reached without sleeping.
type clock struct {
	mu  sync.Mutex
	t   time.Time
	got []time.Duration
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	c.got = append(c.got, d)
	return ctx.Err()
}

// TestCollectFromAnUnreachableSite: a live site that hangs, keeps failing or
// whose name does not resolve costs its bundle list's budget at most: a few
// attempts, then a *NoSiteError that says why, never the run's five
// attempts of up to 30 s each.
func TestCollectFromAnUnreachableSite(t *testing.T) {
	var requests atomic.Int32
	release := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(hanging.Close)
	t.Cleanup(func() { close(release) })
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(failing.Close)
	noSuchHost := &http.Client{Transport: &http.Transport{DialContext: func(_ context.Context, _, addr string) (net.Conn, error) {
		requests.Add(1)
		host, _, _ := net.SplitHostPort(addr)
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}}}

	tests := []struct {
		name     string
		client   *http.Client
		base     string
		list     time.Duration
		requests func(int32) bool
		check    func(error) bool
		want     string
	}{
		{"hanging", http.DefaultClient, hanging.URL + "/", 20 * time.Millisecond,
			func(n int32) bool { return n == 1 },
			func(err error) bool { return errors.Is(err, context.DeadlineExceeded) },
			"the 20ms allowed for reading the earlier pins.json passed"},
		{"503 on every attempt", http.DefaultClient, failing.URL + "/", DefaultLimits.List,
			func(n int32) bool { return n >= 2 && n < retry.DefaultAttempts },
			func(err error) bool { return errors.Is(err, context.DeadlineExceeded) },
			"would start after the 1s allowed for reading the earlier pins.json"},
		{"no such host", noSuchHost, "https://nonexistent-site.invalid/x/", DefaultLimits.List,
			func(n int32) bool { return n == 1 },
			func(err error) bool { var pe *retry.PermanentError; return errors.As(err, &pe) },
			"no such host (not retried: a name that does not resolve cannot heal within a run)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requests.Store(0)
			c := &clock{t: time.Now()}
			src := HTTP{Client: tt.client, Base: tt.base, Policy: retry.Policy{Now: c.now, Sleep: c.sleep}}
			lim := DefaultLimits
			lim.List = tt.list
			kept, _, err := Collect(context.Background(), src, lim, 3, site.BundleRef{Path: "b/" + strings.Repeat("0", 32) + ".tar.gz"}, tt.base)
			var nse *NoSiteError
			if len(kept) != 0 || !errors.As(err, &nse) || !tt.check(err) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Collect = %v, %v; want a *NoSiteError reading %q", kept, err, tt.want)
			}
			if n := requests.Load(); !tt.requests(n) {
				t.Errorf("%d requests (waits %v)", n, c.got)
			}
			if !strings.Contains(err.Error(), tt.base+site.Manifest) {
				t.Errorf("err = %q, want it to name %s", err, tt.base+site.Manifest)
			}
		})
	}
}

// budgetSource records whether each read had a deadline.
type budgetSource struct {
	Dir
	deadlines map[string]bool
}

func (s budgetSource) Get(ctx context.Context, name string, limit int64) ([]byte, error) {
	_, ok := ctx.Deadline()
	s.deadlines[name] = ok
	return s.Dir.Get(ctx, name, limit)
}

// TestCollectBudgetsOnlyTheList: the budget bounds the read of pins.json;
// the bundles it lists, which can be large, are read under the caller's
// context alone.
func TestCollectBudgetsOnlyTheList(t *testing.T) {
	tgz, nh := tarball(t, "a")
	path := "b/" + strings.Repeat("a", 32) + ".tar.gz"
	src := budgetSource{Dir: earlierSite(t, []site.BundleRef{{Path: path, NarHash: nh}}, map[string][]byte{path: tgz}), deadlines: map[string]bool{}}
	kept, _, err := Collect(context.Background(), src, DefaultLimits, 2, site.BundleRef{Path: "b/" + strings.Repeat("0", 32) + ".tar.gz"}, "")
	if err != nil || len(kept) != 1 {
		t.Fatalf("Collect = %v, %v; want the bundle", kept, err)
	}
	if len(src.deadlines) != 2 || !src.deadlines[site.Manifest] || src.deadlines[path] {
		t.Errorf("reads with a deadline: %v, want only %s's", src.deadlines, site.Manifest)
	}
}

// TestHTTPReusesItsConnection: reading an earlier site over HTTP/1.1 keeps
// one connection for its requests, answers other than 200 included (a first
// publish's site is all 404s), so that each costs a round trip, not a
// handshake too.
func TestHTTPReusesItsConnection(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/site/pins.json":
			_, _ = w.Write([]byte(`{"bundles":[]}`))
		case "/site/gone":
			http.Error(w, strings.Repeat("gone ", 1000), http.StatusGone)
		case "/site/teapot":
			http.Error(w, "short and stout", http.StatusTeapot)
		default:
			http.NotFound(w, r)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	h := HTTP{Client: &http.Client{}, Base: srv.URL + "/site/"}
	for _, name := range []string{site.Manifest, "index.html", "gone", "teapot", site.Manifest, "b/none.tar.gz"} {
		_, err := h.Get(t.Context(), name, 1<<20)
		if name != site.Manifest && err == nil {
			t.Fatalf("%s: no error", name)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for 6 requests in turn, want 1", n)
	}
}
