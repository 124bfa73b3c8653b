package main

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/kwbauson/create-pin-refs/test/fakegithub"
	"github.com/kwbauson/create-pin-refs/test/netem"
)

// TestHostsOverLink: every server a benchmark starts, GitHub's included, is
// behind the link, and counts into the same tally by kind.
func TestHostsOverLink(t *testing.T) {
	if !fakegithub.HaveGit() {
		t.Skip("fakegithub needs git")
	}
	link := netem.Link{RTT: 10 * time.Millisecond, Bandwidth: 1 << 20, Handshakes: 2}
	raw, cache := verifiedPins(4)
	srv, err := startPinServer(raw, serverOptions{link: link, cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	gh, err := startGitHub(t.TempDir(), srv)
	if err != nil {
		t.Fatal(err)
	}
	defer gh.Close()
	// The Cachix API, the binary cache, the live site and GitHub.
	if len(srv.counts.listeners) != 4 {
		t.Fatalf("%d listeners, want 4", len(srv.counts.listeners))
	}
	for i, l := range srv.counts.listeners {
		if l.Link() != link {
			t.Errorf("listener %d is over %v, want %v", i, l.Link(), link)
		}
	}
	before := srv.counts.snapshot()
	for _, u := range []string{srv.pinsURL(), srv.siteURL + "pins.json", gh.apiURL() + "/repos/bench/pins"} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	got := srv.counts.snapshot().minus(before)
	want := map[string]int64{kindPins: 1, kindSite: 1, "GitHub GET repository": 1}
	if !maps.Equal(got.byKind, want) || got.conns != 3 {
		t.Errorf("counted %v and %d connections, want %v and 3", got.byKind, got.conns, want)
	}
}

func TestGitHubKind(t *testing.T) {
	for _, tt := range []struct{ method, path, want string }{
		{"GET", "/api/v3/repos/bench/pins/git/ref/heads/pins", "GitHub GET ref"},
		{"PATCH", "/api/v3/repos/bench/pins/git/refs/heads/pins", "GitHub PATCH ref"},
		{"POST", "/api/v3/repos/bench/pins/git/refs", "GitHub POST ref"},
		{"POST", "/api/v3/repos/bench/pins/git/blobs", "GitHub POST blob"},
		{"GET", "/api/v3/repos/bench/pins/git/trees/abc", "GitHub GET tree"},
		{"POST", "/repos/bench/pins/git/commits", "GitHub POST commit"},
		{"GET", "/api/v3/repos/bench/pins", "GitHub GET repository"},
		{"GET", "/api/v3/rate_limit", "GitHub GET other"},
	} {
		if got := githubKind(httptest.NewRequest(tt.method, tt.path, nil)); got != tt.want {
			t.Errorf("%s %s: %q, want %q", tt.method, tt.path, got, tt.want)
		}
	}
}
