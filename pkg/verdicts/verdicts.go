// Package verdicts carries verification verdicts from one publish to the
// next, so that a publish walks only the closures of store paths it has not
// verified lately. The earlier publish's pins.json holds each pin's verdict
// (closure class and sizes) and when its closure was walked; a verdict is
// reused when all of these hold:
//
//   - the pins.json is this version's and was verified against the same
//     substituter and upstream caches;
//   - the pin's store path is one the earlier publish verified (store paths
//     never change content, so a verdict is about the path, not the name);
//   - the verdict is complete or split: incomplete and missing ones are
//     walked again, as they may have healed;
//   - it is younger than the maximum age, so that every closure is walked
//     again that often, whatever happened to the caches meanwhile (an
//     upstream cache that dropped a path, a cache emptied by hand).
//
// Besides, each run reads the narinfo of a small sample of the reused paths
// (Sample, a different slice of them each run), and walks everything when
// one is gone: Cachix keeps pinned paths out of garbage collection and
// serves a narinfo only while it holds the path's whole closure, so a gone
// path is rare and is a sign that more may be.
package verdicts

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/kwbauson/create-pin-refs/pkg/bundle"
	"github.com/kwbauson/create-pin-refs/pkg/narinfo"
	"github.com/kwbauson/create-pin-refs/pkg/verify"
)

const (
	// DefaultMaxAge is how long a verdict is reused: a week of daily
	// publishes walk each closure once.
	DefaultMaxAge = 7 * 24 * time.Hour
	// Sample is how many reused paths each run reads the narinfo of.
	Sample = 8
	// skew is how far in the future a verdict's time may be: the clocks
	// of two runners differ a little, never by this much.
	skew = 5 * time.Minute
)

// Why an earlier pins.json gives no verdicts.
var (
	// ErrDamaged: it is not JSON, or cut short.
	ErrDamaged = errors.New("damaged")
	// ErrFormat: it is of another format version.
	ErrFormat = errors.New("of another format")
	// ErrUnverified: its pins were not verified (--verify off), or were by
	// a version that recorded no verification times.
	ErrUnverified = errors.New("records no verification")
	// ErrMismatch: it was verified against other caches.
	ErrMismatch = errors.New("verified against other caches")
)

// Verdict is what an earlier publish found of one store path's closure.
type Verdict struct {
	// Closure holds the class, sizes, CA and deriver; the lists of paths
	// found only upstream or nowhere are not recorded.
	Closure  verify.Closure
	Verified time.Time // when the closure was walked
}

// Earlier holds the reusable verdicts of an earlier pins.json.
type Earlier struct {
	Substituter string
	Upstream    []string
	byPath      map[string]Verdict // complete and split ones, with a time
}

// manifest is what Parse reads of pins.json (pkg/site.ManifestData).
type manifest struct {
	Format       *int   `json:"format"`
	Substituter  string `json:"substituter"`
	Verification *struct {
		Upstream []string `json:"upstream"`
	} `json:"verification"`
	Pins []struct {
		StorePath    string `json:"storePath"`
		NarSize      uint64 `json:"narSize"`
		ClosureSize  uint64 `json:"closureSize"`
		ClosurePaths int    `json:"closurePaths"`
		Closure      string `json:"closure"`
		CA           string `json:"ca"`
		Deriver      string `json:"deriver"`
		Verified     string `json:"verified"`
	} `json:"pins"`
}

// Parse reads the verdicts of an earlier pins.json. Its errors wrap
// ErrDamaged, ErrFormat or ErrUnverified, and say what is wrong.
func Parse(data []byte) (*Earlier, error) {
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDamaged, err)
	}
	switch {
	case m.Format == nil:
		return nil, fmt.Errorf("%w: no format version", ErrFormat)
	case *m.Format != bundle.FormatVersion:
		return nil, fmt.Errorf("%w: format %d, this version writes %d", ErrFormat, *m.Format, bundle.FormatVersion)
	case m.Verification == nil:
		return nil, fmt.Errorf("%w (published with --verify off, or by an older version)", ErrUnverified)
	}
	e := &Earlier{Substituter: m.Substituter, Upstream: m.Verification.Upstream, byPath: make(map[string]Verdict, len(m.Pins))}
	for _, p := range m.Pins {
		class := verify.Class(p.Closure)
		at, err := time.Parse(time.RFC3339, p.Verified)
		if err != nil || class != verify.Complete && class != verify.Split {
			continue
		}
		if _, dup := e.byPath[p.StorePath]; dup {
			continue
		}
		e.byPath[p.StorePath] = Verdict{
			Closure:  verify.Closure{Class: class, NarSize: p.NarSize, ClosureSize: p.ClosureSize, Paths: p.ClosurePaths, CA: p.CA, Deriver: p.Deriver},
			Verified: at,
		}
	}
	return e, nil
}

// Rule is what this run verifies against, and how old a verdict it takes.
type Rule struct {
	Substituter string
	Upstream    []string
	MaxAge      time.Duration // 0: DefaultMaxAge
	Now         time.Time
	Sample      int // reused paths whose narinfo is read; 0: none
}

// Match reports whether e's verdicts were made against r's caches; the
// error wraps ErrMismatch and names the difference. The upstream caches
// count as a set: their order changes where a path is read from, not
// whether some cache holds it.
func (e *Earlier) Match(r Rule) error {
	if e.Substituter != r.Substituter {
		return fmt.Errorf("%w: the substituter was %s, now %s", ErrMismatch, e.Substituter, r.Substituter)
	}
	was, now := sorted(e.Upstream), sorted(r.Upstream)
	if !slices.Equal(was, now) {
		return fmt.Errorf("%w: the upstream caches were %s, now %s", ErrMismatch, list(was), list(now))
	}
	return nil
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

func list(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return fmt.Sprint(s)
}

// Plan is what a run does with each store path.
type Plan struct {
	Reused map[string]Verdict // by store path
	Walk   []string           // store paths whose closures are walked, each once
	Check  []string           // reused paths whose narinfo is read, sorted
	// Expired counts the verdicts walked again for their age.
	Expired int
}

// Plan decides, for each of paths, whether e's verdict is reused; nil e (no
// earlier verdicts, or --reverify) walks every one. e must Match r.
func (e *Earlier) Plan(paths []string, r Rule) Plan {
	maxAge := cmp.Or(r.MaxAge, DefaultMaxAge)
	p := Plan{Reused: map[string]Verdict{}}
	seen := make(map[string]bool, len(paths))
	for _, path := range paths {
		if seen[path] {
			continue
		}
		seen[path] = true
		v, ok := Verdict{}, false
		if e != nil {
			v, ok = e.byPath[path]
		}
		age := r.Now.Sub(v.Verified)
		switch {
		case !ok:
			p.Walk = append(p.Walk, path)
		case age >= maxAge || age < -skew:
			p.Expired++
			p.Walk = append(p.Walk, path)
		default:
			p.Reused[path] = v
		}
	}
	p.Check = sample(p.Reused, r.Sample, r.Now)
	return p
}

// sample picks n of the reused paths, consecutive in the order of their
// hashes from a start that the run's time picks: runs at different times
// read different ones, so a path gone is found within len(reused)/n runs on
// average, and the verdict's age bounds it anyway.
func sample(reused map[string]Verdict, n int, now time.Time) []string {
	if n <= 0 || len(reused) == 0 {
		return nil
	}
	all := make([]string, 0, len(reused))
	for p := range reused {
		all = append(all, p)
	}
	slices.SortFunc(all, func(a, b string) int { return cmp.Compare(narinfo.Hash(a), narinfo.Hash(b)) })
	if n >= len(all) {
		return all
	}
	start := int(mix(uint64(now.Unix())) % uint64(len(all)))
	out := make([]string, 0, n)
	for i := range n {
		out = append(out, all[(start+i)%len(all)])
	}
	slices.Sort(out)
	return out
}

// mix is splitmix64's finaliser: neighbouring seconds give unrelated
// starts, so runs on a fixed schedule do not keep reading the same slice.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Outcome is what Verify found.
type Outcome struct {
	Closures map[string]*verify.Closure
	Verified map[string]time.Time // when each path's closure was walked
	Reused   int                  // paths whose verdict was carried over
	Walked   int                  // paths whose closure was walked
	Checked  int                  // reused paths whose narinfo was read
	Requests int64                // narinfo requests, to every cache
	// Gone are the sampled paths no longer where their verdict says (in
	// the cache for a complete closure, in some cache for a split one):
	// then every closure was walked.
	Gone []string
}

// Verify classifies the paths of plan as verify.Closures does, carrying
// over the verdicts it reuses: it walks plan.Walk and reads the narinfo of
// plan.Check meanwhile; when one of those is gone it walks the reused
// paths too. now stamps the verdicts made here.
func Verify(ctx context.Context, opts verify.Options, plan Plan, now time.Time) (*Outcome, error) {
	var n atomic.Int64
	opts.Cache = counted{opts.Cache, &n}
	up := make([]verify.Source, len(opts.Upstream))
	for i, s := range opts.Upstream {
		up[i] = counted{s, &n}
	}
	opts.Upstream = up
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	type checked struct {
		roots map[string]verify.Class
		err   error
	}
	check := make(chan checked, 1)
	go func() {
		var c checked
		if len(plan.Check) > 0 {
			c.roots, c.err = verify.Roots(ctx, plan.Check, opts)
		}
		check <- c
	}()
	walked := map[string]*verify.Closure{}
	var err error
	if len(plan.Walk) > 0 {
		walked, err = verify.Closures(ctx, plan.Walk, opts)
	}
	if err != nil {
		cancel()
		<-check
		return nil, err
	}
	c := <-check
	if c.err != nil {
		return nil, c.err
	}
	out := &Outcome{Closures: walked, Verified: map[string]time.Time{}, Checked: len(plan.Check)}
	for _, p := range plan.Check {
		if want := plan.Reused[p].Closure.Class; c.roots[p] == verify.Missing || want == verify.Complete && c.roots[p] != verify.Complete {
			out.Gone = append(out.Gone, p)
		}
	}
	reused := plan.Reused
	if len(out.Gone) > 0 {
		rest := make([]string, 0, len(reused))
		for p := range reused {
			rest = append(rest, p)
		}
		more, err := verify.Closures(ctx, rest, opts)
		if err != nil {
			return nil, err
		}
		for p, c := range more {
			walked[p] = c
		}
		reused = nil
	}
	stamp := now.UTC().Truncate(time.Second)
	for p := range walked {
		out.Verified[p] = stamp
	}
	out.Walked = len(walked)
	for p, v := range reused {
		c := v.Closure
		out.Closures[p] = &c
		out.Verified[p] = v.Verified
	}
	out.Reused = len(reused)
	out.Requests = n.Load()
	return out, nil
}

// counted counts the narinfo requests made through a Source.
type counted struct {
	verify.Source
	n *atomic.Int64
}

func (c counted) Get(ctx context.Context, hash string) (*narinfo.NarInfo, error) {
	c.n.Add(1)
	return c.Source.Get(ctx, hash)
}
