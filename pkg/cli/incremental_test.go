package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kwbauson/create-pin-refs/pkg/narinfo"
	"github.com/kwbauson/create-pin-refs/pkg/retry"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
	"github.com/kwbauson/create-pin-refs/pkg/verdicts"
	"github.com/kwbauson/create-pin-refs/test/fakecachix"
)

// incrFixture is a local Cachix whose cache "demo" pins p0…p11, each
// referring to lib → base, and tool, which refers to glibc, held by the
// upstream cache "up" alone: 13 closures of 17 narinfo files, read in 17
// requests (glibc is asked of the cache first).
type incrFixture struct {
	srv     *fakecachix.Server
	own, up string
	pins    []cachix.Pin
}

const incrPins = 12

func newIncrFixture(t *testing.T) *incrFixture {
	t.Helper()
	p := fakecachix.StorePath
	f := &incrFixture{own: t.TempDir(), up: t.TempDir()}
	infos := []fakecachix.NarInfo{
		{StorePath: p("lib"), References: []string{p("base")}, NarSize: 20},
		{StorePath: p("base"), NarSize: 3},
		{StorePath: p("tool"), References: []string{p("glibc")}, NarSize: 7},
		{StorePath: p("moved"), References: []string{p("lib")}, NarSize: 50},
	}
	for i := range incrPins {
		infos = append(infos, fakecachix.NarInfo{StorePath: p(fmt.Sprint("p", i)), References: []string{p("lib")}, NarSize: 100 + i})
		f.pins = append(f.pins, incrPin(fmt.Sprint("p", i), p(fmt.Sprint("p", i))))
	}
	f.pins = append(f.pins, incrPin("tool", p("tool")))
	err := fakecachix.WriteNarInfos(f.own, infos...)
	if err == nil {
		err = fakecachix.WriteNarInfos(f.up, fakecachix.NarInfo{StorePath: p("glibc"), NarSize: 1000}, fakecachix.NarInfo{StorePath: p("glibc2"), NarSize: 1000})
	}
	if err != nil {
		t.Fatal(err)
	}
	f.srv = fakecachix.Start(t, fakecachix.Options{Caches: []fakecachix.Cache{
		{Name: "demo", Dir: f.own, PublicSigningKeys: []string{"demo-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY="}, Pins: f.pins},
		{Name: "up", Dir: f.up},
		{Name: "up2", Dir: f.up},
		{Name: "mirror", Dir: f.own},
	}})
	return f
}

func incrPin(name, path string) cachix.Pin {
	return cachix.Pin{Name: name + ".x86_64-linux", LastRevision: cachix.Revision{StorePath: path, Revision: 1}}
}

// publish runs a dir-mode publish into out at now and returns its log and
// the narinfo requests it made.
func (f *incrFixture) publish(t *testing.T, out string, now time.Time, more ...string) (string, int) {
	t.Helper()
	f.srv.ResetRequests()
	args := append([]string{"--cache", "demo", "--cachix-url", f.srv.URL(), "--out", out, "--upstream", f.srv.CacheURL("up")}, more...)
	var stdout, stderr strings.Builder
	code := Main(context.Background(), args, Env{
		Getenv: func(string) string { return "" }, Stdout: &stdout, Stderr: &stderr, Version: "test",
		Retry: retry.Policy{Now: func() time.Time { return now }},
	})
	if code != ExitOK {
		t.Fatalf("exit %d:\n%s", code, &stderr)
	}
	n := 0
	for _, r := range f.srv.Requests() {
		if strings.HasSuffix(r, ".narinfo") {
			n++
		}
	}
	return stderr.String(), n
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func wantLog(t *testing.T, log string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(log, w) {
			t.Errorf("the log lacks %q:\n%s", w, log)
		}
	}
}

// TestIncrementalReuse: a republish of unchanged pins reads the narinfo of
// its spot check alone and writes the same verdicts.
func TestIncrementalReuse(t *testing.T) {
	f := newIncrFixture(t)
	out := filepath.Join(t.TempDir(), "site")
	log, n := f.publish(t, out, t0)
	if n != 17 {
		t.Errorf("the first publish made %d narinfo requests, want 17", n)
	}
	wantLog(t, log, "notice: verification: no verdicts to reuse from "+out+": pins.json: not found; walking every closure",
		"verification: reused 0 verdicts from "+out+", walked 13 closures (17 narinfo requests)")
	first := readManifest(t, out)
	for _, p := range first.Pins {
		if p.Verified != "2026-03-01T12:00:00Z" || p.Closure == "" {
			t.Errorf("pin %s: verified %q, closure %q; want the run's time and a class", p.PinName, p.Verified, p.Closure)
		}
	}
	if first.Verification == nil || !cmp.Equal(first.Verification.Upstream, []string{f.srv.CacheURL("up")}) {
		t.Errorf("pins.json verification %+v, want the upstream cache", first.Verification)
	}

	log, n = f.publish(t, out, t0.Add(time.Hour))
	if n != verdicts.Sample {
		t.Errorf("the unchanged republish made %d narinfo requests, want %d (the spot check)", n, verdicts.Sample)
	}
	wantLog(t, log, fmt.Sprintf("verification: reused 13 verdicts from %s, walked 0 closures (%d narinfo requests); %d reused paths spot-checked", out, verdicts.Sample, verdicts.Sample),
		"verified 13 pins against "+f.srv.CacheURL("demo")+" and 1 upstream caches",
		": 12 complete, 1 split, 0 incomplete, 0 missing",
		`pin "tool.x86_64-linux": its closure is only complete with the upstream caches (verified 2026-03-01T12:00:00Z)`,
		// The fixture's upstream is not cache.nixos.org: consumers need it.
		"warning: 1 pin's closure is complete only with the upstream caches, and "+f.srv.CacheURL("up")+" is not Nix's default substituter: consumers must add it to their substituters, with its public key")
	if diff := cmp.Diff(first, readManifest(t, out)); diff != "" {
		t.Errorf("the republish's pins.json (-first +second):\n%s", diff)
	}
}

// TestIncrementalMovedPin: a pin moved to a new store path has its closure
// walked alone; the other verdicts are reused.
func TestIncrementalMovedPin(t *testing.T) {
	f := newIncrFixture(t)
	out := filepath.Join(t.TempDir(), "site")
	f.publish(t, out, t0)
	moved := append([]cachix.Pin{}, f.pins...)
	moved[3] = incrPin("p3", fakecachix.StorePath("moved"))
	f.srv.SetPins("demo", moved)
	log, n := f.publish(t, out, t0.Add(time.Hour))
	// moved, lib and base, besides the spot check.
	if n != 3+verdicts.Sample {
		t.Errorf("%d narinfo requests, want %d", n, 3+verdicts.Sample)
	}
	if got := f.srv.Count("/cache/demo/" + narinfo.Hash(fakecachix.StorePath("moved")) + ".narinfo"); got != 1 {
		t.Errorf("the moved path was read %d times, want once", got)
	}
	wantLog(t, log, fmt.Sprintf("verification: reused 12 verdicts from %s, walked 1 closure (%d narinfo requests)", out, 3+verdicts.Sample))
	for _, p := range readManifest(t, out).Pins {
		want := "2026-03-01T12:00:00Z"
		if p.PinName == "p3.x86_64-linux" {
			want = "2026-03-01T13:00:00Z"
			if p.StorePath != fakecachix.StorePath("moved") || p.ClosureSize != 73 || p.ClosurePaths != 3 {
				t.Errorf("the moved pin: %+v, want its new closure", p)
			}
		}
		if p.Verified != want {
			t.Errorf("pin %s verified %s, want %s", p.PinName, p.Verified, want)
		}
	}
}

// TestIncrementalFullWalk: what makes a publish walk every closure, and
// say why, without failing.
func TestIncrementalFullWalk(t *testing.T) {
	for _, tt := range []struct {
		name string
		// change runs between the publishes; it returns the second's extra
		// arguments and time.
		change func(t *testing.T, f *incrFixture, out string) ([]string, time.Time)
		log    string
	}{
		{"damaged pins.json", func(t *testing.T, f *incrFixture, out string) ([]string, time.Time) {
			truncate(t, filepath.Join(out, "pins.json"))
			return nil, t0
		}, "pins.json: damaged: unexpected end of JSON input; walking every closure"},
		{"pins.json of another format", func(t *testing.T, f *incrFixture, out string) ([]string, time.Time) {
			rewrite(t, filepath.Join(out, "pins.json"), `{"format":2`, `{"format":1`)
			return nil, t0
		}, "pins.json: of another format: format 1, this version writes 2; walking every closure"},
		{"pins.json of an older version", func(t *testing.T, f *incrFixture, out string) ([]string, time.Time) {
			rewrite(t, filepath.Join(out, "pins.json"), `"verification":`, `"x":`)
			return nil, t0
		}, "pins.json: records no verification (published with --verify off, or by an older version); walking every closure"},
		{"pins.json gone", func(t *testing.T, f *incrFixture, out string) ([]string, time.Time) {
			if err := os.Remove(filepath.Join(out, "pins.json")); err != nil {
				t.Fatal(err)
			}
			return nil, t0
		}, "pins.json: not found; walking every closure"},
		{"--reverify", func(*testing.T, *incrFixture, string) ([]string, time.Time) {
			return []string{"--reverify"}, t0
		}, "verification: --reverify: walking every closure"},
		{"another upstream cache", func(_ *testing.T, f *incrFixture, _ string) ([]string, time.Time) {
			return []string{"--upstream", f.srv.CacheURL("up2")}, t0
		}, "pins.json: verified against other caches: the upstream caches were [UP], now [UP UP2]; walking every closure"},
		{"another substituter", func(_ *testing.T, f *incrFixture, _ string) ([]string, time.Time) {
			return []string{"--substituter", f.srv.CacheURL("mirror")}, t0
		}, "pins.json: verified against other caches: the substituter was DEMO, now MIRROR; walking every closure"},
		{"verdicts past --reverify-after", func(*testing.T, *incrFixture, string) ([]string, time.Time) {
			return []string{"--reverify-after", "2d"}, t0.Add(49 * time.Hour)
		}, "13 verdicts older than --reverify-after 48h0m0s walked again"},
		{"spot-checked paths gone", func(t *testing.T, f *incrFixture, _ string) ([]string, time.Time) {
			// Every pinned path left the cache for the upstream one: each
			// complete verdict the spot check reads is wrong.
			for _, p := range f.pins {
				sp := p.LastRevision.StorePath
				if err := os.Remove(filepath.Join(f.own, narinfo.Hash(sp)+".narinfo")); err != nil {
					t.Fatal(err)
				}
				if err := fakecachix.WriteNarInfos(f.up, fakecachix.NarInfo{StorePath: sp, References: []string{fakecachix.StorePath("lib")}, NarSize: 7}); err != nil {
					t.Fatal(err)
				}
			}
			return nil, t0.Add(time.Hour)
		}, fmt.Sprintf("warning: verification: %d of the %d reused verdicts spot-checked name a path no longer where they say", verdicts.Sample, verdicts.Sample)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newIncrFixture(t)
			out := filepath.Join(t.TempDir(), "site")
			f.publish(t, out, t0)
			more, at := tt.change(t, f, out)
			log, n := f.publish(t, out, at, more...)
			want := strings.NewReplacer("UP2", f.srv.CacheURL("up2"), "UP", f.srv.CacheURL("up"), "DEMO", f.srv.CacheURL("demo"), "MIRROR", f.srv.CacheURL("mirror")).Replace(tt.log)
			wantLog(t, log, want)
			// Every closure walked: at least the first publish's 17
			// narinfo requests.
			if n < 17 || !strings.Contains(log, "walked 13 closures") {
				t.Errorf("%d narinfo requests, want at least 17, and 13 closures walked:\n%s", n, log)
			}
		})
	}
}

func truncate(t *testing.T, file string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err == nil {
		err = os.WriteFile(file, data[:len(data)/2], 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func rewrite(t *testing.T, file, old, new string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("%s lacks %q", file, old)
	}
	if err := os.WriteFile(file, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestIncrementalPages: pages mode reuses the verdicts of the live site's
// pins.json, read once for them and for the immutable bundles it lists.
func TestIncrementalPages(t *testing.T) {
	f := newIncrFixture(t)
	s := startLiveSite(t)
	publish := func(at time.Time) (string, int) {
		work := t.TempDir() // a fresh runner
		log, n := f.publish(t, filepath.Join(work, "site"), at, "--mode", "pages", "--pages-url", s.url)
		s.deploy(t, filepath.Join(work, "site-artifact", "artifact.tar"))
		return log, n
	}
	publish(t0)
	// A pin moved, so that the bundle is another and the first one kept.
	moved := append([]cachix.Pin{}, f.pins...)
	moved[3] = incrPin("p3", fakecachix.StorePath("moved"))
	f.srv.SetPins("demo", moved)
	before := s.requests("/site/pins.json")
	log, n := publish(t0.Add(time.Hour))
	if n != 3+verdicts.Sample {
		t.Errorf("%d narinfo requests, want %d", n, 3+verdicts.Sample)
	}
	wantLog(t, log, "verification: reused 12 verdicts from "+strings.TrimSuffix(s.url, "/")+", walked 1 closure",
		"and 1 of earlier publishes from "+strings.TrimSuffix(s.url, "/"))
	if got := s.requests("/site/pins.json") - before; got != 1 {
		t.Errorf("the live pins.json was read %d times, want once", got)
	}

	// Reused verdicts keep their time, so the same pins are no change; once
	// they are older than --reverify-after they are walked again and the new
	// times are a change, or the live site would keep the old ones and every
	// later publish would walk everything.
	log, _ = publish(t0.Add(2 * time.Hour))
	wantLog(t, log, "changed: false (the same pins.json and index.html")
	log, _ = publish(t0.Add(8 * 24 * time.Hour))
	wantLog(t, log, "verdicts older than --reverify-after", "changed: true (pins.json (the pins, their verdicts or the bundles) differs")
	log, _ = publish(t0.Add(8*24*time.Hour + time.Hour))
	wantLog(t, log, "walked 0 closures", "changed: false")
}
