package transport

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/kwbauson/create-pin-refs/bench/closures"
	"github.com/kwbauson/create-pin-refs/pkg/cli"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
	"github.com/kwbauson/create-pin-refs/test/fakegithub"
	"github.com/kwbauson/create-pin-refs/test/tlscert"
)

func TestMain(m *testing.M) { os.Exit(tlscert.RunTrusting(m)) }

// host is one HTTPS server standing for a host of its own, which counts
// the connections it accepts and the requests by protocol.
type host struct {
	*httptest.Server
	conns  atomic.Int64
	mu     sync.Mutex
	protos map[string]int
}

func startHost(t *testing.T, h http.Handler, h2 bool) *host {
	t.Helper()
	s := &host{protos: map[string]int{}}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.protos[r.Proto]++
		s.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.EnableHTTP2 = h2
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

// take returns the connections accepted and the requests by protocol
// since the last call.
func (s *host) take() (int64, map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.protos
	s.protos = map[string]int{}
	return s.conns.Swap(0), p
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// TestHTTP2AndKeepAlive publishes twice, in pages and in branch mode,
// verifying every closure, against servers that offer HTTP/2 and against
// servers that speak HTTP/1.1 only. Every request goes over HTTP/2 where
// it is offered; each host gets one connection (the Cachix API two: the
// cache's description and the pins are asked for at once, before the
// protocol is known), the binary cache included, however many narinfo
// files are read at once; over HTTP/1.1 the binary cache gets at most
// --concurrency of them. (In one process, the second run may reuse the
// first's connections.)
func TestHTTP2AndKeepAlive(t *testing.T) {
	const concurrency = 20
	cache := closures.New(60)
	var raw []cachix.Pin
	for i, p := range cache.Pins {
		raw = append(raw, cachix.Pin{Name: fmt.Sprintf("pin-%d", i), LastRevision: cachix.Revision{StorePath: p, Revision: 1, Artifacts: []string{}}})
	}
	for _, mode := range []string{"pages", "branch"} {
		for _, h2 := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s, HTTP/2 offered %v", mode, h2), func(t *testing.T) {
				bin := startHost(t, cache, h2)
				api := startHost(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					switch r.URL.Path {
					case "/api/v1/cache/demo":
						writeJSON(w, cachix.CacheInfo{Name: "demo", URI: bin.URL, IsPublic: true, PublicSigningKeys: []string{"demo-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY="}})
					case "/api/v1/cache/demo/pin":
						writeJSON(w, raw)
					default:
						http.NotFound(w, r)
					}
				}), h2)
				work := t.TempDir()
				var published atomic.Pointer[string] // the site the live site serves
				site := startHost(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if dir := published.Load(); dir != nil {
						http.StripPrefix("/site", http.FileServer(http.Dir(*dir))).ServeHTTP(w, r)
						return
					}
					http.NotFound(w, r)
				}), h2)
				hosts := map[string]*host{"binary cache": bin, "Cachix API": api, "live site": site}
				args := []string{"--cache", "demo", "--cachix-url", api.URL, "--verify", "fail", "--upstream", "none",
					"--concurrency", fmt.Sprint(concurrency), "--mode", mode}
				env := map[string]string{}
				if mode == "pages" {
					args = append(args, "--pages-url", site.URL+"/site/")
				} else {
					delete(hosts, "live site")
					gh := fakegithub.New(t, fakegithub.Options{Owner: "octo", Repo: "pins"})
					hosts["GitHub"] = startHost(t, gh, h2)
					args = append(args, "--repo", "octo/pins", "--github-api-url", hosts["GitHub"].URL+"/api/v3")
					env["GITHUB_TOKEN"] = gh.Token
				}
				proto := "HTTP/1.1"
				if h2 {
					proto = "HTTP/2.0"
				}
				for run := range 2 {
					out := filepath.Join(work, fmt.Sprint("out-", run))
					var stderr strings.Builder
					code := cli.Main(context.Background(), append(args, "--out", out), cli.Env{
						Getenv: func(k string) string { return env[k] },
						Stdout: &strings.Builder{}, Stderr: &stderr, Version: "test",
					})
					if code != cli.ExitOK {
						t.Fatalf("run %d: exit %d:\n%s", run, code, &stderr)
					}
					if mode == "pages" {
						published.Store(&out)
					}
					for name, h := range hosts {
						conns, protos := h.take()
						requests := protos[proto]
						if len(protos) > 1 || len(protos) == 1 && requests == 0 {
							t.Errorf("run %d, %s: requests by protocol %v, want every one over %s", run, name, protos, proto)
						}
						if run == 0 && requests == 0 {
							t.Errorf("run %d, %s: no request", run, name)
						}
						want := int64(1)
						switch {
						case name == "Cachix API":
							want = 2
						case name == "binary cache" && !h2:
							want = concurrency
						}
						// The second run may find the first's connections
						// still open, and make none.
						if conns > want {
							t.Errorf("run %d, %s: %d connections for %d requests, want at most %d", run, name, conns, requests, want)
						}
					}
				}
			})
		}
	}
}
