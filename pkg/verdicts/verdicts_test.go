package verdicts_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kwbauson/create-pin-refs/pkg/bundle"
	"github.com/kwbauson/create-pin-refs/pkg/narinfo"
	"github.com/kwbauson/create-pin-refs/pkg/pins"
	"github.com/kwbauson/create-pin-refs/pkg/site"
	"github.com/kwbauson/create-pin-refs/pkg/verdicts"
	"github.com/kwbauson/create-pin-refs/pkg/verify"
	"github.com/kwbauson/create-pin-refs/test/fakecachix"
)

var (
	path = fakecachix.StorePath
	now  = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

const substituter = "https://demo.cachix.org"

var upstream = []string{"https://cache.nixos.org"}

// manifest writes pins.json as pkg/site does, verified against substituter
// and upstream.
func manifest(t *testing.T, ps ...pins.Pin) []byte {
	t.Helper()
	m := site.NewManifest(&pins.Set{Pins: ps, Upstream: upstream}, bundle.Meta{Cache: "demo", Substituter: substituter})
	var buf bytes.Buffer
	if err := site.WriteManifest(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func pin(name, class string, verified time.Time) pins.Pin {
	p := pins.Pin{PinName: name, Name: name, StorePath: path(name), NarSize: 10, ClosureSize: 30, ClosurePaths: 3, Closure: class, Deriver: "/nix/store/0000000000000000000000000000000a-" + name + ".drv"}
	if !verified.IsZero() {
		p.Verified = verified.Format(time.RFC3339)
	}
	return p
}

func rule() verdicts.Rule {
	return verdicts.Rule{Substituter: substituter, Upstream: upstream, Now: now, Sample: verdicts.Sample}
}

func TestParseRejects(t *testing.T) {
	good := manifest(t, pin("app", "complete", now))
	for _, tt := range []struct {
		name string
		data string
		want error
	}{
		{"not JSON", "<html>404</html>", verdicts.ErrDamaged},
		{"cut short", string(good[:len(good)/2]), verdicts.ErrDamaged},
		{"empty", "", verdicts.ErrDamaged},
		{"another format", strings.Replace(string(good), `{"format":2`, `{"format":1`, 1), verdicts.ErrFormat},
		{"no format", `{"pins":[]}`, verdicts.ErrFormat},
		{"not verified", strings.Replace(string(good), `"verification":`, `"x":`, 1), verdicts.ErrUnverified},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := verdicts.Parse([]byte(tt.data)); !errors.Is(err, tt.want) {
				t.Errorf("Parse = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	e, err := verdicts.Parse(manifest(t, pin("app", "complete", now)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		r     func(*verdicts.Rule)
		match bool
	}{
		{"the same caches", func(*verdicts.Rule) {}, true},
		{"upstream caches in another order", func(r *verdicts.Rule) { r.Upstream = []string{"https://cache.nixos.org", "https://cache.nixos.org"} }, true},
		{"another substituter", func(r *verdicts.Rule) { r.Substituter = "https://other.cachix.org" }, false},
		{"no upstream cache", func(r *verdicts.Rule) { r.Upstream = []string{} }, false},
		{"one more upstream cache", func(r *verdicts.Rule) { r.Upstream = append(r.Upstream, "https://nix-community.cachix.org") }, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := rule()
			tt.r(&r)
			if err := e.Match(r); (err == nil) != tt.match || err != nil && !errors.Is(err, verdicts.ErrMismatch) {
				t.Errorf("Match = %v, want a match: %v", err, tt.match)
			}
		})
	}
}

func TestPlan(t *testing.T) {
	day := 24 * time.Hour
	e, err := verdicts.Parse(manifest(t,
		pin("fresh", "complete", now.Add(-time.Hour)),
		pin("split", "split", now.Add(-6*day)),
		pin("old", "complete", now.Add(-7*day)),
		pin("future", "complete", now.Add(time.Hour)),
		pin("skewed", "complete", now.Add(time.Minute)),
		pin("incomplete", "incomplete", now),
		pin("missing", "missing", now),
		pin("untimed", "complete", time.Time{}),
	))
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"fresh", "split", "old", "future", "skewed", "incomplete", "missing", "untimed", "new", "fresh"}
	var paths []string
	for _, n := range names {
		paths = append(paths, path(n))
	}
	p := e.Plan(paths, rule())
	var reused []string
	for k := range p.Reused {
		reused = append(reused, k)
	}
	slices.Sort(reused)
	want := []string{path("fresh"), path("skewed"), path("split")}
	slices.Sort(want)
	if diff := cmp.Diff(want, reused); diff != "" {
		t.Errorf("reused (-want +got):\n%s", diff)
	}
	wantWalk := []string{path("old"), path("future"), path("incomplete"), path("missing"), path("untimed"), path("new")}
	if diff := cmp.Diff(wantWalk, p.Walk); diff != "" {
		t.Errorf("walked (-want +got):\n%s", diff)
	}
	if p.Expired != 2 {
		t.Errorf("%d expired, want old and future", p.Expired)
	}
	v := p.Reused[path("split")]
	wantV := verdicts.Verdict{Closure: verify.Closure{Class: verify.Split, NarSize: 10, ClosureSize: 30, Paths: 3, Deriver: "/nix/store/0000000000000000000000000000000a-split.drv"}, Verified: now.Add(-6 * day)}
	if diff := cmp.Diff(wantV, v); diff != "" {
		t.Errorf("the split verdict (-want +got):\n%s", diff)
	}
	// Fewer reused paths than the sample: all are checked.
	if diff := cmp.Diff(reused, p.Check); diff != "" {
		t.Errorf("checked (-want +got):\n%s", diff)
	}

	// A shorter maximum age; no earlier verdicts at all.
	r := rule()
	r.MaxAge = time.Hour
	if p := e.Plan(paths, r); len(p.Reused) != 1 {
		t.Errorf("with an hour's maximum age, reused %v, want skewed alone", p.Reused)
	}
	var none *verdicts.Earlier
	if p := none.Plan(paths, rule()); len(p.Reused) != 0 || len(p.Walk) != len(names)-1 || len(p.Check) != 0 {
		t.Errorf("without earlier verdicts: %+v, want every path walked once", p)
	}
}

// TestSampleRotates: each run checks Sample of the reused paths, the same
// ones for the same time, and runs a second apart soon cover them all.
func TestSampleRotates(t *testing.T) {
	var ps []pins.Pin
	for i := range 40 {
		ps = append(ps, pin("p"+string(rune('a'+i%26))+string(rune('a'+i/26)), "complete", now))
	}
	e, err := verdicts.Parse(manifest(t, ps...))
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, p := range ps {
		paths = append(paths, p.StorePath)
	}
	seen := map[string]bool{}
	runs := 0
	for ; len(seen) < len(paths) && runs < 100; runs++ {
		r := rule()
		r.Now = now.Add(time.Duration(runs) * time.Second)
		p := e.Plan(paths, r)
		if len(p.Check) != verdicts.Sample || !slices.IsSorted(p.Check) || len(slices.Compact(slices.Clone(p.Check))) != verdicts.Sample {
			t.Fatalf("run %d checks %v, want %d distinct paths, sorted", runs, p.Check, verdicts.Sample)
		}
		if again := e.Plan(paths, r); !slices.Equal(again.Check, p.Check) {
			t.Fatalf("run %d: the sample differs for the same time: %v, %v", runs, p.Check, again.Check)
		}
		for _, c := range p.Check {
			seen[c] = true
		}
	}
	if len(seen) < len(paths) {
		t.Errorf("100 runs checked %d of the %d reused paths", len(seen), len(paths))
	}
	t.Logf("%d runs checked all %d paths", runs, len(paths))
}

// fixture is a cache holding app → lib → base and tool → glibc, glibc
// upstream only, with a verdict on each pinned path.
type fixture struct {
	srv      *fakecachix.Server
	own      string
	opts     verify.Options
	earlier  *verdicts.Earlier
	pinPaths []string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	own, up := t.TempDir(), t.TempDir()
	err := fakecachix.WriteNarInfos(own,
		fakecachix.NarInfo{StorePath: path("app"), References: []string{path("lib")}, NarSize: 100},
		fakecachix.NarInfo{StorePath: path("app2"), References: []string{path("lib")}, NarSize: 100},
		fakecachix.NarInfo{StorePath: path("lib"), References: []string{path("base")}, NarSize: 20},
		fakecachix.NarInfo{StorePath: path("base"), NarSize: 3},
		fakecachix.NarInfo{StorePath: path("tool"), References: []string{path("glibc")}, NarSize: 7},
	)
	if err == nil {
		err = fakecachix.WriteNarInfos(up, fakecachix.NarInfo{StorePath: path("glibc"), NarSize: 1000})
	}
	if err != nil {
		t.Fatal(err)
	}
	srv := fakecachix.Start(t, fakecachix.Options{Caches: []fakecachix.Cache{{Name: "own", Dir: own}, {Name: "up", Dir: up}}})
	cl := func(name string) *narinfo.Client {
		c, err := narinfo.New(srv.CacheURL(name), narinfo.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	e, err := verdicts.Parse(manifest(t, pin("app", "complete", now), pin("app2", "complete", now), pin("tool", "split", now)))
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{
		srv: srv, own: own, earlier: e,
		opts:     verify.Options{Cache: cl("own"), Upstream: []verify.Source{cl("up")}, Concurrency: 4},
		pinPaths: []string{path("app"), path("app2"), path("tool")},
	}
}

func (f *fixture) narinfoRequests() int {
	n := 0
	for _, r := range f.srv.Requests() {
		if strings.HasSuffix(r, ".narinfo") {
			n++
		}
	}
	return n
}

func TestVerifyReuses(t *testing.T) {
	f := newFixture(t)
	r := rule()
	r.Sample = 2
	plan := f.earlier.Plan(f.pinPaths, r)
	later := now.Add(time.Hour)
	out, err := verdicts.Verify(t.Context(), f.opts, plan, later)
	if err != nil {
		t.Fatal(err)
	}
	// Each of the two checked is in the cache: one request each.
	if got := f.narinfoRequests(); out.Reused != 3 || out.Walked != 0 || out.Checked != 2 || out.Requests != 2 || got != 2 || len(out.Gone) != 0 {
		t.Errorf("reused %d, walked %d, checked %d, %d requests counted (%d served); want 3 reused, 2 checked with 2 requests", out.Reused, out.Walked, out.Checked, out.Requests, got)
	}
	for _, p := range f.pinPaths {
		if out.Verified[p] != now || out.Closures[p] == nil || out.Closures[p].ClosureSize != 30 {
			t.Errorf("%s: verified %s, closure %+v; want the earlier verdict kept", p, out.Verified[p], out.Closures[p])
		}
	}

	// A new path is walked, and stamped with this run's time.
	f.srv.ResetRequests()
	plan = f.earlier.Plan([]string{path("app"), path("lib")}, rule())
	out, err = verdicts.Verify(t.Context(), f.opts, plan, later)
	if err != nil {
		t.Fatal(err)
	}
	c := out.Closures[path("lib")]
	if out.Walked != 1 || c == nil || c.Class != verify.Complete || c.ClosureSize != 23 || !out.Verified[path("lib")].Equal(later) {
		t.Errorf("lib: walked %d, %+v at %s; want its closure walked now", out.Walked, c, out.Verified[path("lib")])
	}
	if out.Requests != 3 { // lib, base, and app checked
		t.Errorf("%d requests, want 3", out.Requests)
	}
}

// TestVerifyGoneWalksAll: a sampled path no longer where its verdict says
// makes the run walk every closure again.
func TestVerifyGoneWalksAll(t *testing.T) {
	for _, tt := range []struct {
		name string
		gone string // removed from the cache
	}{
		{"a complete closure's path gone", "app"},
		{"a split closure's path gone", "tool"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if err := removeNarInfo(f.own, path(tt.gone)); err != nil {
				t.Fatal(err)
			}
			plan := f.earlier.Plan(f.pinPaths, rule())
			out, err := verdicts.Verify(t.Context(), f.opts, plan, now.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(out.Gone, []string{path(tt.gone)}) || out.Reused != 0 || out.Walked != 3 {
				t.Fatalf("gone %v, reused %d, walked %d; want %s gone and all 3 walked", out.Gone, out.Reused, out.Walked, tt.gone)
			}
			if c := out.Closures[path(tt.gone)]; c.Class != verify.Missing {
				t.Errorf("%s is %s, want missing", tt.gone, c.Class)
			}
			if c := out.Closures[path("app2")]; c.Class != verify.Complete || c.ClosureSize != 123 || !out.Verified[path("app2")].Equal(now.Add(time.Hour)) {
				t.Errorf("app2 %+v, verified %s; want walked again now", c, out.Verified[path("app2")])
			}
		})
	}
}

func TestVerifyCheckFails(t *testing.T) {
	f := newFixture(t)
	f.srv.SetToken("secret") // the cache turned private
	_, err := verdicts.Verify(t.Context(), f.opts, f.earlier.Plan(f.pinPaths, rule()), now)
	var le *verify.LookupError
	if !errors.As(err, &le) || !errors.Is(err, narinfo.ErrUnauthorized) {
		t.Fatalf("Verify = %v, want the spot check's LookupError", err)
	}
}

func removeNarInfo(dir, storePath string) error {
	return os.Remove(filepath.Join(dir, narinfo.Hash(storePath)+".narinfo"))
}
