package verify_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kwbauson/create-pin-refs/pkg/narinfo"
	"github.com/kwbauson/create-pin-refs/pkg/verify"
	"github.com/kwbauson/create-pin-refs/test/fakecachix"
)

var path = fakecachix.StorePath

type entry struct {
	name string
	refs []string
	size int
	ca   bool
	drv  string
}

func cacheDir(t *testing.T, entries ...entry) string {
	t.Helper()
	dir := t.TempDir()
	for _, e := range entries {
		n := fakecachix.NarInfo{StorePath: path(e.name), NarSize: e.size, Deriver: e.drv}
		for _, r := range e.refs {
			n.References = append(n.References, path(r))
		}
		if e.ca {
			n.CA = "fixed:r:sha256:1jpg5v8rcf4d08rlpq51vnd1w800l64h34r0bw4vkb6z3qlk089k"
		}
		if err := fakecachix.WriteNarInfos(dir, n); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func client(t *testing.T, url, token string) *narinfo.Client {
	t.Helper()
	c, err := narinfo.New(url, narinfo.Options{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClosures(t *testing.T) {
	// glibc is upstream only; lib and app are in the cache; ghost is nowhere.
	own := cacheDir(t,
		entry{name: "app", refs: []string{"app", "lib"}, size: 100, drv: "/nix/store/0000000000000000000000000000000a-app.drv"},
		entry{name: "lib", refs: []string{"base"}, size: 20},
		entry{name: "base", size: 3},
		entry{name: "tool", refs: []string{"lib", "glibc"}, size: 7},
		entry{name: "broken", refs: []string{"ghost", "lib"}, size: 5},
		entry{name: "added", size: 9, ca: true},
	)
	up := cacheDir(t, entry{name: "glibc", refs: []string{"base"}, size: 1000}, entry{name: "base", size: 3}, entry{name: "only-up", size: 4})
	srv := fakecachix.Start(t, fakecachix.Options{Caches: []fakecachix.Cache{{Name: "own", Dir: own}, {Name: "up", Dir: up}}})
	opts := verify.Options{
		Cache:       client(t, srv.CacheURL("own"), ""),
		Upstream:    []verify.Source{client(t, srv.CacheURL("up"), "")},
		Concurrency: 3,
	}
	pins := []string{path("app"), path("tool"), path("broken"), path("added"), path("absent"), path("only-up"), path("app")}
	got, err := verify.Closures(t.Context(), pins, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*verify.Closure{
		path("app"): {Class: verify.Complete, NarSize: 100, ClosureSize: 123, Paths: 3,
			Deriver: "/nix/store/0000000000000000000000000000000a-app.drv"},
		path("tool"):    {Class: verify.Split, NarSize: 7, ClosureSize: 1030, Paths: 4, Upstream: []string{path("glibc")}},
		path("broken"):  {Class: verify.Incomplete, NarSize: 5, ClosureSize: 28, Paths: 4, Absent: []string{path("ghost")}},
		path("added"):   {Class: verify.Complete, NarSize: 9, ClosureSize: 9, Paths: 1, CA: "fixed:r:sha256:1jpg5v8rcf4d08rlpq51vnd1w800l64h34r0bw4vkb6z3qlk089k"},
		path("absent"):  {Class: verify.Missing, Paths: 1, Absent: []string{path("absent")}},
		path("only-up"): {Class: verify.Split, NarSize: 4, ClosureSize: 4, Paths: 1, Upstream: []string{path("only-up")}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Closures (-want +got):\n%s", diff)
	}
	// Each narinfo once, however many closures hold it; upstream only for
	// what the cache lacks.
	for _, name := range []string{"app", "lib", "base", "glibc", "ghost"} {
		if n := srv.Count("/cache/own/" + narinfo.Hash(path(name)) + ".narinfo"); n != 1 {
			t.Errorf("the cache was asked %d times for %s, want once", n, name)
		}
	}
	for name, want := range map[string]int{"glibc": 1, "ghost": 1, "lib": 0, "base": 0} {
		if n := srv.Count("/cache/up/" + narinfo.Hash(path(name)) + ".narinfo"); n != want {
			t.Errorf("upstream was asked %d times for %s, want %d", n, name, want)
		}
	}
}

func TestClosuresWithoutUpstream(t *testing.T) {
	srv := fakecachix.Start(t, fakecachix.Options{Caches: []fakecachix.Cache{{Name: "own", Dir: cacheDir(t, entry{name: "tool", refs: []string{"glibc"}, size: 7})}}})
	got, err := verify.Closures(t.Context(), []string{path("tool")}, verify.Options{Cache: client(t, srv.CacheURL("own"), "")})
	if err != nil {
		t.Fatal(err)
	}
	if c := got[path("tool")]; c.Class != verify.Incomplete || len(c.Absent) != 1 {
		t.Errorf("got %+v, want incomplete", c)
	}
}

func TestClosuresUnreadableCache(t *testing.T) {
	srv := fakecachix.Start(t, fakecachix.Options{Token: "secret", Caches: []fakecachix.Cache{{Name: "own", Dir: cacheDir(t, entry{name: "tool", size: 7})}}})
	_, err := verify.Closures(t.Context(), []string{path("tool"), path("other")}, verify.Options{Cache: client(t, srv.CacheURL("own"), ""), Concurrency: 2})
	var le *verify.LookupError
	if !errors.As(err, &le) || !errors.Is(err, narinfo.ErrUnauthorized) || le.Cache != srv.CacheURL("own") {
		t.Fatalf("got %v, want a LookupError wrapping ErrUnauthorized", err)
	}
}
