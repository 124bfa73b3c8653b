package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/kwbauson/create-pin-refs/pkg/cachix"
)

// cacheName is the name of the cache the loopback server offers.
const cacheName = "bench"

// pinServer is a loopback stand-in for the Cachix API that answers with bytes
// encoded once, so that what is measured is the client, not the server's JSON
// encoder; the body is the real wire format (test/fakecachix sends the same).
type pinServer struct {
	srv      *http.Server
	mux      *http.ServeMux
	url      string
	pins     []byte
	info     []byte
	requests atomic.Int64
	// narinfos counts the requests for HASH.narinfo files (see serveCache),
	// which requests counts too.
	narinfos atomic.Int64
}

func startPinServer(raw []cachix.Pin) (*pinServer, error) {
	wire := make([]cachix.Pin, len(raw))
	for i, p := range raw {
		if p.LastRevision.Artifacts == nil {
			p.LastRevision.Artifacts = []string{} // as Cachix sends it
		}
		wire[i] = p
	}
	pinsJSON, err := json.Marshal(wire)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &pinServer{pins: pinsJSON, url: "http://" + l.Addr().String()}
	s.info, err = json.Marshal(cachix.CacheInfo{
		Name:              cacheName,
		URI:               s.url + "/cache/" + cacheName,
		IsPublic:          true,
		PublicSigningKeys: []string{cacheName + "-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY="},
	})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	s.mux = mux
	mux.HandleFunc("GET /api/v1/cache/"+cacheName+"/pin", func(w http.ResponseWriter, _ *http.Request) { s.serve(w, s.pins) })
	mux.HandleFunc("GET /api/v1/cache/"+cacheName, func(w http.ResponseWriter, _ *http.Request) { s.serve(w, s.info) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		http.NotFound(w, r)
	})
	s.srv = &http.Server{Handler: mux}
	go func() { _ = s.srv.Serve(l) }()
	return s, nil
}

func (s *pinServer) serve(w http.ResponseWriter, body []byte) {
	s.requests.Add(1)
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

// serveCache serves cache where the cache's description says its binary cache
// is (URI), counting its requests.
func (s *pinServer) serveCache(cache http.Handler) {
	prefix := "/cache/" + cacheName
	inner := http.StripPrefix(prefix, cache)
	s.mux.Handle(prefix+"/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if strings.HasSuffix(r.URL.Path, ".narinfo") {
			s.narinfos.Add(1)
		}
		inner.ServeHTTP(w, r)
	}))
}

func (s *pinServer) pinsURL() string {
	return fmt.Sprintf("%s/api/v1/cache/%s/pin", s.url, cacheName)
}

func (s *pinServer) Close() error { return s.srv.Close() }
