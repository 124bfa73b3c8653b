package verify_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kwbauson/create-pin-refs/pkg/narinfo"
	"github.com/kwbauson/create-pin-refs/pkg/verify"
	"github.com/kwbauson/create-pin-refs/test/fakecachix"
)

func TestRoots(t *testing.T) {
	// app refers to lib, which Roots does not follow.
	own := cacheDir(t, entry{name: "app", refs: []string{"lib"}, size: 1}, entry{name: "lib", size: 2})
	up := cacheDir(t, entry{name: "glibc", size: 3})
	srv := fakecachix.Start(t, fakecachix.Options{Caches: []fakecachix.Cache{{Name: "own", Dir: own}, {Name: "up", Dir: up}}})
	opts := verify.Options{Cache: client(t, srv.CacheURL("own"), ""), Upstream: []verify.Source{client(t, srv.CacheURL("up"), "")}, Concurrency: 2}
	got, err := verify.Roots(t.Context(), []string{path("app"), path("glibc"), path("ghost"), path("app")}, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]verify.Class{path("app"): verify.Complete, path("glibc"): verify.Split, path("ghost"): verify.Missing}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Roots (-want +got):\n%s", diff)
	}
	for req, want := range map[string]int{
		"/cache/own/" + narinfo.Hash(path("app")) + ".narinfo":  1,
		"/cache/own/" + narinfo.Hash(path("lib")) + ".narinfo":  0,
		"/cache/up/" + narinfo.Hash(path("app")) + ".narinfo":   0,
		"/cache/up/" + narinfo.Hash(path("ghost")) + ".narinfo": 1,
	} {
		if n := srv.Count(req); n != want {
			t.Errorf("%s asked %d times, want %d", req, n, want)
		}
	}
}

func TestRootsUnreadableCache(t *testing.T) {
	srv := fakecachix.Start(t, fakecachix.Options{Token: "secret", Caches: []fakecachix.Cache{{Name: "own", Dir: cacheDir(t, entry{name: "tool", size: 7})}}})
	_, err := verify.Roots(t.Context(), []string{path("tool"), path("other")}, verify.Options{Cache: client(t, srv.CacheURL("own"), "")})
	var le *verify.LookupError
	if !errors.As(err, &le) || !errors.Is(err, narinfo.ErrUnauthorized) {
		t.Fatalf("got %v, want a LookupError wrapping ErrUnauthorized", err)
	}
}
