package narinfo_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/sync/errgroup"

	"github.com/kwbauson/create-pin-refs/pkg/narinfo"
	"github.com/kwbauson/create-pin-refs/test/tlscert"
)

// TestMain makes the process trust httptest's HTTPS servers, so that the
// transport under test is the program's own, not one given their
// certificate.
func TestMain(m *testing.M) { os.Exit(tlscert.RunTrusting(m)) }

// connServer is a binary cache that serves testdata's narinfo for every
// hash and records the protocol of each request and the connections it
// accepted.
type connServer struct {
	*httptest.Server
	conns  atomic.Int64
	mu     sync.Mutex
	protos map[string]int
}

func startConnServer(t *testing.T, tls, h2 bool) *connServer {
	t.Helper()
	text, err := os.ReadFile(filepath.Join("testdata", "cachix.narinfo"))
	if err != nil {
		t.Fatal(err)
	}
	s := &connServer{protos: map[string]int{}}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.protos[r.Proto]++
		s.mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/"+absentHash) {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(text)
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.EnableHTTP2 = h2
	if tls {
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)
	return s
}

// getMany reads n narinfo files through one client of NewTransport(c),
// asking for at most at of them at once, a fifth of them absent.
func getMany(t *testing.T, url string, c, at, n int) {
	t.Helper()
	client, err := narinfo.New(url, narinfo.Options{Transport: narinfo.NewTransport(c)})
	if err != nil {
		t.Fatal(err)
	}
	var g errgroup.Group
	g.SetLimit(at)
	for i := range n {
		g.Go(func() error {
			hash := cachixHash
			if i%5 == 0 {
				hash = absentHash
			}
			_, err := client.Get(t.Context(), hash)
			if hash == absentHash && err != nil {
				return nil
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
}

// TestTransportConnections: the narinfo transport speaks HTTP/2 to a server
// that offers it, over one connection however many requests start at once
// (the first goes alone until its connection is up; no more than its
// concurrency are in flight, which fit on one before the server says how
// many it takes), and over HTTP/1.1 keeps at most its concurrency of
// connections, reused, 404s included.
func TestTransportConnections(t *testing.T) {
	const requests = 400
	for _, tc := range []struct {
		name            string
		tls, h2         bool
		concurrency, at int // of the transport, and requests asked for at once
		proto           string
		maxConns        int64
	}{
		{"https, HTTP/2 offered", true, true, 16, 16, "HTTP/2.0", 1},
		{"https, HTTP/2 offered, more asked than in flight", true, true, 100, 150, "HTTP/2.0", 1},
		{"https, HTTP/1.1 only", true, false, 16, 16, "HTTP/1.1", 16},
		{"http", false, false, 16, 16, "HTTP/1.1", 16},
		{"http, more asked than in flight", false, false, 16, 40, "HTTP/1.1", 16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startConnServer(t, tc.tls, tc.h2)
			getMany(t, s.URL, tc.concurrency, tc.at, requests)
			s.mu.Lock()
			defer s.mu.Unlock()
			if len(s.protos) != 1 || s.protos[tc.proto] != requests {
				t.Errorf("requests by protocol %v, want all %d over %s", s.protos, requests, tc.proto)
			}
			if got := s.conns.Load(); got < 1 || got > tc.maxConns {
				t.Errorf("%d connections accepted for %d requests, %d at a time; want at most %d", got, requests, tc.at, tc.maxConns)
			}
		})
	}
}
