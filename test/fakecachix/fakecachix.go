// Package fakecachix is a local stand-in for Cachix, for tests only. Its API
// speaks the real wire format (recorded wire text, see wire.go) and serves a real
// binary cache directory, one made by `nix copy --to file:///DIR`, so Nix can
// use it as a substituter. It listens on loopback only (127.0.0.1 unless
// Options.Host is another loopback address).
//
// URL layout, with URL() = http://127.0.0.1:PORT[PathPrefix]:
//
//	GET URL/api/v1/cache/NAME/pin        JSON array of cachix.Pin
//	POST URL/api/v1/cache/NAME/pin       creates a pin (see pin.go)
//	GET URL/api/v1/cache/NAME            cachix.CacheInfo; its uri is URL/cache/NAME
//	GET URL/cache/NAME/nix-cache-info    from the directory, else Cachix's own
//	GET URL/cache/NAME/HASH.narinfo      text/x-nix-narinfo
//	GET URL/cache/NAME/nar/FILE          application/x-nix-nar
//
// Real Cachix serves each binary cache from its own host (NAME.cachix.org);
// a path per cache does the same job on one loopback port, and URL/cache/NAME
// is an http URL without query, as Nix's substituters and fetchClosure's
// fromStore need.
//
// With a token set, the API answers 401 ({"error": …}, as Cachix does)
// unless the request has "Authorization: Bearer TOKEN"; the binary cache also
// takes HTTP Basic auth with the token as password, which is what Nix sends
// from a netrc file. An unknown cache name answers 404.
package fakecachix

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
)

// Disconnect, given to FailNext as the status, makes the server drop the
// connection without answering: a network error for the client.
const Disconnect = -1

// CacheInfoFile is what Cachix serves as nix-cache-info; used when the
// cache directory has none.
const CacheInfoFile = "StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 41\n"

// Cache is one cache the fake knows.
type Cache struct {
	Name              string
	Pins              []cachix.Pin
	PublicSigningKeys []string
	// Dir is a binary cache directory (nix copy --to file:///Dir); empty
	// serves only nix-cache-info.
	Dir string
}

// Options configure a Server.
type Options struct {
	Caches []Cache
	// Token, when set, is required on every request (see the package doc).
	Token string
	// PathPrefix mounts everything below a path such as "/prefix", to catch
	// clients that drop the base URL's path.
	PathPrefix string
	// Host is the loopback address listened on, 127.0.0.1 when empty. Real
	// Cachix serves each binary cache from a host of its own; a fake on
	// 127.0.0.2 is a binary cache on another host, for credentials that
	// must go to one host only.
	Host string
}

// Server is a running fake. Its methods are safe for concurrent use.
type Server struct {
	srv    *httptest.Server
	prefix string

	mu       sync.Mutex
	token    string
	caches   map[string]*Cache
	faults   int
	fault    fault
	requests []string

	writeToken  string
	pinFaults   int
	pinFault    int
	listLag     int
	pending     []pending
	pinRequests []PinRequest
	revisions   map[string][]cachix.Revision // by cache "\x00" pin name

	cacheFaults int
	cacheFault  fault
	redirects   map[string]string // cache name → where its files moved
	authorized  []string          // requests that carried Authorization
}

type fault struct {
	status     int
	retryAfter string
}

var validPrefix = regexp.MustCompile(`^(/[A-Za-z0-9._~-]+)*$`)

// New starts a fake on a free loopback port. Close it when done.
func New(opts Options) (*Server, error) {
	prefix := strings.TrimSuffix(opts.PathPrefix, "/")
	if prefix != "" && !strings.HasPrefix(prefix, "/") {
		prefix = "/" + prefix
	}
	if !validPrefix.MatchString(prefix) || strings.Contains(prefix+"/", "/../") || strings.Contains(prefix+"/", "/./") {
		return nil, fmt.Errorf("fakecachix: path prefix %q: want /SEGMENT[/SEGMENT…] of URL-safe characters", opts.PathPrefix)
	}
	s := &Server{prefix: prefix, token: opts.Token, caches: map[string]*Cache{}}
	for _, c := range opts.Caches {
		if err := s.SetCache(c); err != nil {
			return nil, err
		}
	}
	host := opts.Host
	if host == "" {
		host = "127.0.0.1"
	}
	if ip := net.ParseIP(host); ip == nil || ip.To4() == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("fakecachix: host %q: want an IPv4 loopback address such as 127.0.0.2", opts.Host)
	}
	l, err := net.Listen("tcp4", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, fmt.Errorf("fakecachix: %w", err)
	}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	s.srv.Listener.Close() // replaced, to be sure of the loopback address
	s.srv.Listener = l
	s.srv.Start()
	return s, nil
}

// Start is New for tests: it fails the test on error and closes the
// server at cleanup.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// URL is the API base URL (what a cachix.Client takes), with the prefix.
func (s *Server) URL() string { return s.srv.URL + s.prefix }

// CacheURL is the binary cache URL of a cache, as the API's uri gives it.
func (s *Server) CacheURL(name string) string {
	return s.URL() + "/cache/" + url.PathEscape(name)
}

// Close stops the server, waiting for requests in flight.
func (s *Server) Close() { s.srv.Close() }

// SetCache adds or replaces a cache.
func (s *Server) SetCache(c Cache) error {
	if c.Name == "" {
		return errors.New("fakecachix: cache without a name")
	}
	c.Pins = clonePins(c.Pins)
	c.PublicSigningKeys = slices.Clone(c.PublicSigningKeys)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.caches[c.Name] = &c
	return nil
}

// RemoveCache forgets a cache: it answers 404 from now on.
func (s *Server) RemoveCache(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.caches, name)
}

// SetPins replaces the pin list of a cache, adding the cache if unknown.
func (s *Server) SetPins(cache string, pins []cachix.Pin) {
	pins = clonePins(pins)
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.caches[cache]; ok {
		c.Pins = pins
		return
	}
	s.caches[cache] = &Cache{Name: cache, Pins: pins}
}

// SetToken changes the required token; "" makes every cache public.
func (s *Server) SetToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = token
}

// FailNext makes the next n API requests (under /api/) fail with status
// (or Disconnect), sending Retry-After when retryAfter is not empty. The
// binary cache is not affected. n = 0 cancels pending failures.
func (s *Server) FailNext(n, status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = max(n, 0)
	s.fault = fault{status: status, retryAfter: retryAfter}
}

// FailNextCache is FailNext for the binary caches (under /cache/) instead.
func (s *Server) FailNextCache(n, status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cacheFaults = max(n, 0)
	s.cacheFault = fault{status: status, retryAfter: retryAfter}
}

// RedirectCache makes the binary cache of a cache answer every file with a
// 307 to TO/FILE, as a cache behind a CDN may; "" stops it.
func (s *Server) RedirectCache(name, to string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.redirects == nil {
		s.redirects = map[string]string{}
	}
	s.redirects[name] = strings.TrimSuffix(to, "/")
}

// Authorized lists, as Requests does, the requests that carried an
// Authorization header.
func (s *Server) Authorized() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.authorized)
}

// Requests lists the requests received so far, oldest first, as
// "METHOD /path" with the path prefix removed (and the path as sent, still
// escaped), e.g. "GET /api/v1/cache/demo/pin".
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Count tells how many requests had this path (prefix removed), any method.
func (s *Server) Count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if _, p, _ := strings.Cut(r, " "); p == path {
			n++
		}
	}
	return n
}

// ResetRequests empties the request log, Authorized's too.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
	s.authorized = nil
}
