package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
	"github.com/kwbauson/create-pin-refs/test/netem"
	"github.com/kwbauson/create-pin-refs/test/tlscert"
)

// cacheName is the name of the cache the loopback server offers.
const cacheName = "bench"

// The kinds of request the loopback servers count (GitHub's: githubKind).
const (
	kindInfo        = "cache info"
	kindPins        = "pins"
	kindCachixOther = "Cachix API, other"
	kindNarinfo     = "narinfo"
	kindCacheOther  = "binary cache, other" // nix-cache-info
	kindSite        = "live site"
)

// requestCounts counts what the loopback servers of one benchmark answer,
// by kind, and the connections their listeners accepted.
type requestCounts struct {
	mu        sync.Mutex
	n         map[string]int64
	listeners []*netem.Listener
	exchanges []exchange // every request, for a run's timeline
}

func (c *requestCounts) add(kind string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int64{}
	}
	c.n[kind]++
}

func (c *requestCounts) answered(e exchange) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.exchanges = append(c.exchanges, e)
}

// tally is what the servers answered so far.
type tally struct {
	byKind    map[string]int64
	conns     int64
	exchanges int // the requests answered so far (of requestCounts.exchanges)
}

func (c *requestCounts) snapshot() tally {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := tally{byKind: maps.Clone(c.n), exchanges: len(c.exchanges)}
	for _, l := range c.listeners {
		t.conns += l.Conns()
	}
	return t
}

// minus is what was answered between before and t.
func (t tally) minus(before tally) tally {
	d := tally{byKind: map[string]int64{}, conns: t.conns - before.conns, exchanges: t.exchanges - before.exchanges}
	for k, v := range t.byKind {
		if v -= before.byKind[k]; v != 0 {
			d.byKind[k] = v
		}
	}
	return d
}

func (t tally) total() int64 {
	var n int64
	for _, v := range t.byKind {
		n += v
	}
	return n
}

// host is one loopback server, as if across link: each stands for a host
// of its own (Cachix's API, the binary cache, the live site, GitHub), with
// connections of its own, as a client has them.
type host struct {
	srv *httptest.Server
	url string
}

// The protocols the hosts can speak (serverOptions.proto).
const (
	protoHTTP = "http" // cleartext HTTP/1.1; netem charges TLS's round trip
	protoH1   = "h1"   // HTTPS, HTTP/1.1 only
	protoH2   = "h2"   // HTTPS, offering HTTP/2
)

// startHost serves h on a free loopback port over link, in proto (""
// is protoHTTP), counting each request in counts as kind says. Over
// HTTPS the TLS handshake is real: netem charges TCP's round trip alone.
func startHost(h http.Handler, link netem.Link, proto string, counts *requestCounts, kind func(*http.Request) string) (*host, error) {
	tls := proto == protoH1 || proto == protoH2
	if tls {
		link.Handshakes = max(link.Handshakes-1, 1)
	}
	inner, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	l := netem.Listen(inner, link)
	counts.mu.Lock()
	counts.listeners = append(counts.listeners, l)
	counts.mu.Unlock()
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k, start := kind(r), time.Now()
		counts.add(k)
		h.ServeHTTP(w, r)
		counts.answered(exchange{kind: k, start: start, end: time.Now().Add(link.RTT)})
	}))
	ts.Listener.Close()
	ts.Listener = l
	if tls {
		ts.EnableHTTP2 = proto == protoH2
		ts.StartTLS()
	} else {
		ts.Start()
	}
	return &host{srv: ts, url: ts.URL}, nil
}

func (h *host) Close() error {
	// Not httptest's Close, which waits for idle connections to be
	// closed by their clients: the bench's clients are gone by then.
	h.srv.CloseClientConnections()
	h.srv.Close()
	return nil
}

// pinServer is the loopback stand-ins a publish talks to but GitHub: the
// Cachix API, which answers with bytes encoded once, so that what is
// measured is the client, not the server's JSON encoder (the body is the
// real wire format: test/fakecachix sends the same); the binary cache its
// description points to; and the live site (--pages-url).
type pinServer struct {
	url     string // the Cachix API's
	siteURL string // the live site's, ending in "/"
	info    atomic.Pointer[[]byte]
	pins    atomic.Pointer[[]byte]
	// site is the folder the live site serves; nil: nothing was published
	// there yet, every file is missing.
	site   atomic.Pointer[string]
	link   netem.Link
	proto  string
	counts *requestCounts
	hosts  []*host
	// caDir holds caFile, the certificate a client trusts over HTTPS.
	caDir, caFile string
}

// serverOptions are how startPinServer's hosts behave.
type serverOptions struct {
	link  netem.Link   // between the servers and the client
	proto string       // protoHTTP (""), protoH1 or protoH2
	cache http.Handler // the binary cache (GET /HASH.narinfo); nil for none
}

func startPinServer(raw []cachix.Pin, o serverOptions) (s *pinServer, err error) {
	s = &pinServer{link: o.link, proto: o.proto, counts: &requestCounts{}}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if o.proto == protoH1 || o.proto == protoH2 {
		if s.caDir, err = os.MkdirTemp("", "cpr-bench-ca-"); err != nil {
			return nil, err
		}
		if s.caFile, err = tlscert.WriteCA(s.caDir); err != nil {
			return nil, err
		}
	}
	if err := s.setPins(raw); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/cache/"+cacheName+"/pin", func(w http.ResponseWriter, _ *http.Request) { serveJSON(w, *s.pins.Load()) })
	mux.HandleFunc("GET /api/v1/cache/"+cacheName, func(w http.ResponseWriter, _ *http.Request) { serveJSON(w, *s.info.Load()) })
	mux.HandleFunc("/", http.NotFound)
	api, err := s.start(mux, func(r *http.Request) string {
		switch r.URL.Path {
		case "/api/v1/cache/" + cacheName:
			return kindInfo
		case "/api/v1/cache/" + cacheName + "/pin":
			return kindPins
		}
		return kindCachixOther
	})
	if err != nil {
		return nil, err
	}
	s.url = api.url
	cacheURI := api.url + "/cache/" + cacheName // answers 404: there is no cache
	if o.cache != nil {
		ch, err := s.start(o.cache, func(r *http.Request) string {
			if strings.HasSuffix(r.URL.Path, ".narinfo") {
				return kindNarinfo
			}
			return kindCacheOther
		})
		if err != nil {
			return nil, err
		}
		cacheURI = ch.url
	}
	site, err := s.start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if dir := s.site.Load(); dir != nil {
			http.FileServer(http.Dir(*dir)).ServeHTTP(w, r)
			return
		}
		http.NotFound(w, r)
	}), func(*http.Request) string { return kindSite })
	if err != nil {
		return nil, err
	}
	s.siteURL = site.url + "/"
	info, err := json.Marshal(cachix.CacheInfo{
		Name:              cacheName,
		URI:               cacheURI,
		IsPublic:          true,
		PublicSigningKeys: []string{cacheName + "-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY="},
	})
	if err != nil {
		return nil, err
	}
	s.info.Store(&info)
	return s, nil
}

func (s *pinServer) start(h http.Handler, kind func(*http.Request) string) (*host, error) {
	hs, err := startHost(h, s.link, s.proto, s.counts, kind)
	if err == nil {
		s.hosts = append(s.hosts, hs)
	}
	return hs, err
}

// setPins makes the API list raw from now on.
func (s *pinServer) setPins(raw []cachix.Pin) error {
	wire := make([]cachix.Pin, len(raw))
	for i, p := range raw {
		if p.LastRevision.Artifacts == nil {
			p.LastRevision.Artifacts = []string{} // as Cachix sends it
		}
		wire[i] = p
	}
	pinsJSON, err := json.Marshal(wire)
	if err != nil {
		return err
	}
	s.pins.Store(&pinsJSON)
	return nil
}

// publishSite makes the live site serve dir, as a deploy of it would.
func (s *pinServer) publishSite(dir string) { s.site.Store(&dir) }

func serveJSON(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

func (s *pinServer) pinsURL() string {
	return fmt.Sprintf("%s/api/v1/cache/%s/pin", s.url, cacheName)
}

func (s *pinServer) Close() error {
	for _, h := range s.hosts {
		h.Close()
	}
	if s.caDir != "" {
		os.RemoveAll(s.caDir)
	}
	return nil
}

// clientEnv is the environment a client of the hosts needs: over HTTPS,
// the certificate to trust, for Go (SSL_CERT_FILE) and curl.
func (s *pinServer) clientEnv() []string {
	if s.caFile == "" {
		return nil
	}
	return []string{"SSL_CERT_FILE=" + s.caFile, "CURL_CA_BUNDLE=" + s.caFile}
}

// githubKind names a GitHub API request by method and what it reads or
// writes: "GitHub GET ref", "GitHub POST blob", "GitHub GET repository".
func githubKind(r *http.Request) string {
	p := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/api/v3"), "/"), "/")
	what := "other"
	switch {
	case len(p) == 3 && p[0] == "repos":
		what = "repository"
	case len(p) >= 5 && p[0] == "repos" && p[3] == "git":
		switch p[4] {
		case "ref", "refs":
			what = "ref"
		case "blobs", "trees", "commits":
			what = strings.TrimSuffix(p[4], "s")
		}
	}
	return "GitHub " + r.Method + " " + what
}
