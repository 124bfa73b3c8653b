package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kwbauson/create-pin-refs/pkg/bundle"
	"github.com/kwbauson/create-pin-refs/pkg/config"
	"github.com/kwbauson/create-pin-refs/pkg/narinfo"
	"github.com/kwbauson/create-pin-refs/pkg/pins"
	"github.com/kwbauson/create-pin-refs/pkg/retry"
	"github.com/kwbauson/create-pin-refs/pkg/verify"
)

// UnverifiedError lists the pins that no binary cache can give whole.
type UnverifiedError struct {
	Problems []string // one line per pin
}

func (e *UnverifiedError) Error() string {
	return fmt.Sprintf("%s cannot be substituted, so nothing was published:\n  %s\n"+
		"(push the paths, or pass --verify=skip-missing to leave these pins out, --verify=warn to publish them anyway)",
		count(len(e.Problems), "pin"), strings.Join(e.Problems, "\n  "))
}

// verifyPins classifies every pin's closure, walking those the previous
// publish's verdicts do not vouch for (verifyClosures), fills in the pins'
// metadata and applies --verify to the pins that no cache holds whole. The
// Cachix token goes to the cache's own binary cache only (auth), not to a
// --substituter elsewhere or an upstream cache.
func verifyPins(ctx context.Context, cfg *config.Config, env Env, rep reporter, set *pins.Set, meta bundle.Meta, auth cacheAuth, own verify.Source, prev *earlierSite) error {
	if cfg.Verify == verify.Off || len(set.Pins) == 0 || meta.Substituter == "" {
		// Without a substituter, rendering fails and says so.
		return nil
	}
	transport := narinfo.NewTransport(cfg.Concurrency)
	// Its connections serve this walk only: a round run again makes its own.
	defer (&http.Client{Transport: transport}).CloseIdleConnections()
	policy := retryPolicy(env, rep)
	newSource := func(url string, upstream bool) (*narinfo.Client, error) {
		opts := auth.options(url, upstream)
		opts.Transport, opts.UserAgent, opts.Policy = transport, "create-pin-refs/"+env.Version, policy
		return narinfo.New(url, opts)
	}
	consumers, err := newSource(meta.Substituter, false)
	if err != nil {
		return fmt.Errorf("%w: --substituter: %w", config.ErrUsage, err)
	}
	var cache verify.Source = consumers
	viaS3 := own != nil
	if viaS3 {
		cache = own
	}
	opts := verify.Options{Cache: cache, Concurrency: cfg.Concurrency}
	for _, u := range cfg.Upstream {
		c, err := newSource(u, true)
		if err != nil {
			return fmt.Errorf("%w: --upstream: %w", config.ErrUsage, err)
		}
		opts.Upstream = append(opts.Upstream, c)
	}

	var paths []string
	for _, p := range set.Pins {
		paths = append(paths, p.StorePath)
	}
	// While the earlier verdicts are awaited, the walk's connection is made;
	// an S3 cache, walked through the S3 API, has the URL its consumers
	// substitute from checked meanwhile.
	var (
		warm     sync.WaitGroup
		checkErr error
	)
	warmCtx, stopWarm := context.WithCancel(ctx)
	defer func() { // before the connections are closed
		stopWarm()
		warm.Wait()
	}()
	if viaS3 {
		warm.Go(func() { checkErr = consumers.CheckInfo(warmCtx) })
	} else {
		warm.Go(func() { consumers.Warm(warmCtx) })
	}
	start := time.Now()
	found, err := verifyClosures(ctx, cfg, env, rep, prev, paths, opts, meta)
	if err != nil {
		return lookupFailed(err, set, cache.URL(), auth)
	}
	warm.Wait()
	if err := consumersReach(rep, checkErr, cache, consumers.URL()); err != nil {
		return err
	}

	closures := found.Closures
	set.Upstream = append([]string{}, cfg.Upstream...)
	counts := map[verify.Class]int{}
	var problems []string
	kept := set.Pins[:0]
	for _, p := range set.Pins {
		c := closures[p.StorePath]
		p.NarSize, p.ClosureSize, p.ClosurePaths = c.NarSize, c.ClosureSize, c.Paths
		p.Closure, p.CA, p.Deriver = string(c.Class), c.CA, c.Deriver
		p.Verified = found.Verified[p.StorePath].Format(time.RFC3339)
		counts[c.Class]++
		switch c.Class {
		case verify.Complete:
		case verify.Split:
			if len(c.Upstream) == 0 { // a reused verdict: the paths are not recorded
				rep.Logf("pin %q: its closure is only complete with the upstream caches (verified %s): Nix substitutes it from its configured substituters rather than with fetchClosure", p.PinName, p.Verified)
				break
			}
			rep.Logf("pin %q: %d of the %d paths of its closure are only in upstream caches (such as %s): Nix substitutes it from its configured substituters rather than with fetchClosure",
				p.PinName, len(c.Upstream), c.Paths, c.Upstream[0])
		default:
			problem := unverified(p, c, pushCommand(cfg, meta, p.StorePath))
			switch cfg.Verify {
			case verify.Warn:
				rep.Warnf("%s; published anyway (--verify=warn)", problem)
			case verify.SkipMissing:
				rep.Warnf("%s; left out (--verify=skip-missing)", problem)
				set.Skipped = append(set.Skipped, pins.Skipped{PinName: p.PinName, Reason: "closure " + string(c.Class) + ": " + strings.Join(c.Absent, " ") + " in no binary cache"})
				continue
			default:
				problems = append(problems, problem)
			}
		}
		kept = append(kept, p)
	}
	set.Pins = kept
	if extra := notNixDefault(cfg.Upstream); counts[verify.Split] > 0 && len(extra) > 0 {
		// The bundle names the pins' own cache alone: consumers have Nix's
		// default cache, not these.
		what := fmt.Sprintf("%d pins' closures are", counts[verify.Split])
		if counts[verify.Split] == 1 {
			what = "1 pin's closure is"
		}
		are, them, their := "are", "them", "their"
		if len(extra) == 1 {
			are, them, their = "is", "it", "its"
		}
		rep.Warnf("%s complete only with the upstream caches, and %s %s not Nix's default substituter: consumers must add %s to their substituters, with %s public key, or Nix fails with \"path … does not exist\"; pushing the whole closures to the pins' cache (%s) spares them that",
			what, strings.Join(extra, " and "), are, them, their, pushCommand(cfg, meta, "PATH"))
	}
	rep.Logf("verified %d pins against %s and %d upstream caches in %s: %d complete, %d split, %d incomplete, %d missing",
		len(paths), walkedURL(viaS3, cache, meta), len(opts.Upstream), retry.Round(time.Since(start)),
		counts[verify.Complete], counts[verify.Split], counts[verify.Incomplete], counts[verify.Missing])
	if len(problems) > 0 {
		return &UnverifiedError{Problems: problems}
	}
	if len(cfg.PublicKeys) > 0 { // typed, not the cache's own word
		if err := checkSigned(ctx, cache, set, meta.PublicKeys); err != nil {
			return err
		}
	}
	if len(set.Pins) == 0 && !cfg.AllowEmpty {
		return fmt.Errorf("%w: no pin is left once the ones no binary cache holds are left out; refusing to publish an empty bundle (pass --allow-empty to publish one anyway)", pins.ErrEmpty)
	}
	return nil
}

// signedChecks bounds the pins whose narinfo checkSigned reads.
const signedChecks = 3

// checkSigned reads the narinfo of the first pins until one of an
// input-addressed path, and fails if no key of keys signed it: consumers'
// Nix, trusting these keys for the cache, would refuse to substitute it
// (a content-addressed path needs no signature, so it tells nothing).
func checkSigned(ctx context.Context, cache verify.Source, set *pins.Set, keys []string) error {
	for _, p := range set.Pins[:min(len(set.Pins), signedChecks)] {
		n, err := cache.Get(ctx, narinfo.Hash(p.StorePath))
		if errors.Is(err, narinfo.ErrNotFound) {
			continue // published anyway (--verify=warn)
		}
		if err != nil {
			return fmt.Errorf("pin %q: reading its narinfo to check its signature: %w", p.PinName, err)
		}
		if n.CA != "" {
			continue
		}
		by, err := n.SignedBy(keys)
		switch {
		case err != nil:
			return fmt.Errorf("pin %q: checking the signature of its narinfo: %w", p.PinName, err)
		case by != "":
			return nil
		}
		return fmt.Errorf("pin %q: %w", p.PinName, unsigned(n, cache.URL(), keys))
	}
	return nil
}

// unsigned is the error of a narinfo in cache signed by no key of keys.
func unsigned(n *narinfo.NarInfo, cache string, keys []string) error {
	names := strings.Join(keyNames(keys), ", ")
	if s := n.Signers(); len(s) > 0 {
		return fmt.Errorf("the narinfo of %s in %s is signed by %s, none of --public-keys (%s): consumers' Nix, trusting only these, would refuse to substitute it; give the public key the cache signs with",
			n.StorePath, cache, strings.Join(s, ", "), names)
	}
	return fmt.Errorf("the narinfo of %s in %s carries no signature, and consumers' Nix, trusting --public-keys (%s), would refuse to substitute it: sign the cache's paths (nix store sign, or nix copy --to 'URL?secret-key=FILE') with the key of one of them",
		n.StorePath, cache, names)
}

// keyNames are the names of public keys NAME:BASE64.
func keyNames(keys []string) []string {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i], _, _ = strings.Cut(k, ":")
	}
	return names
}

// walkedURL is the cache the walk read: the substituter, or the S3 cache
// walked through the S3 API.
func walkedURL(viaS3 bool, cache verify.Source, meta bundle.Meta) string {
	if viaS3 {
		return cache.URL() + " (for " + meta.Substituter + ")"
	}
	return meta.Substituter
}

// consumersReach says what the check of the URL consumers substitute from
// found, for a cache walked through the S3 API: none that serves a binary
// cache is an error, since every consumer would fail; a private one is a
// warning, since consumers given access (a proxy they authenticate to) read
// it.
func consumersReach(rep reporter, err error, walked verify.Source, url string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, narinfo.ErrUnauthorized):
		rep.Warnf("%s refuses reads without credentials (%v): the pins were verified in %s through the S3 API, but consumers substitute from this URL, so they need access to it (a public-read policy on the cache, or a proxy or CDN in front of the bucket that they authenticate to)", url, err, walked.URL())
		return nil
	}
	return fmt.Errorf("--substituter %s does not serve the binary cache (%w): the bundle names it for consumers, who could not substitute from it; give the cache's HTTP(S) URL (the bucket's website or CDN, or https://BUCKET.s3.REGION.amazonaws.com/PREFIX)",
		url, err)
}

// nixDefault is the substituter Nix is configured with by default.
const nixDefault = "https://cache.nixos.org"

// notNixDefault are the caches of upstream other than Nix's default one.
func notNixDefault(upstream []string) []string {
	var extra []string
	for _, u := range upstream {
		if strings.TrimSuffix(u, "/") != nixDefault {
			extra = append(extra, u)
		}
	}
	return extra
}

// unverified says what is missing for one pin and how to fix it: push, the
// command that sends its closure to the pins' cache.
func unverified(p pins.Pin, c *verify.Closure, push string) string {
	if c.Class == verify.Missing {
		return fmt.Sprintf("pin %q: %s is in no binary cache (fix: %s)", p.PinName, p.StorePath, push)
	}
	more := ""
	if len(c.Absent) > 1 {
		more = fmt.Sprintf(" and %d more paths", len(c.Absent)-1)
	}
	return fmt.Sprintf("pin %q: its closure needs %s%s, which no binary cache holds (fix: %s sends the whole closure)",
		p.PinName, c.Absent[0], more, push)
}

// pushCommand is the command that sends path's closure to the pins' cache:
// Cachix's, or the S3 cache of --pins-from.
func pushCommand(cfg *config.Config, meta bundle.Meta, path string) string {
	if cfg.PinsFrom != "" {
		return fmt.Sprintf("nix copy --to '%s' %s", s3Store(cfg.PinsFrom, cfg.S3Endpoint), path)
	}
	return fmt.Sprintf("cachix push %s %s", cmp.Or(meta.Cache, "CACHE"), path)
}

// s3Store is Nix's store URL of an S3 cache, with its endpoint.
func s3Store(location, endpoint string) string {
	if endpoint != "" {
		return location + "?endpoint=" + endpoint
	}
	return location
}

// lookupFailed explains a cache that could not be read.
func lookupFailed(err error, set *pins.Set, cacheURL string, auth cacheAuth) error {
	var le *verify.LookupError
	if !errors.As(err, &le) {
		return fmt.Errorf("verifying the pins: %w", err)
	}
	who := ""
	if i := slices.IndexFunc(set.Pins, func(p pins.Pin) bool { return p.StorePath == le.Path }); i >= 0 {
		who = fmt.Sprintf(" (pin %q)", set.Pins[i].PinName)
	}
	hint := "or pass --verify=off to publish without reading narinfo files"
	var se *narinfo.StatusError
	if errors.As(err, &se) && errors.Is(err, narinfo.ErrUnauthorized) {
		hint = auth.hint(se, le.Cache, le.Cache != cacheURL) + "; " + hint
	} else if le.Cache != cacheURL {
		// Often a runner without access to the internet, or a cache that is
		// down: the pins' own cache was readable.
		hint = "the upstream cache " + le.Cache + " could not be read: check that this machine reaches it, or pass --upstream none to verify against the pins' cache alone, " + hint
	}
	return fmt.Errorf("verifying the pins%s: %w (%s)", who, le, hint)
}
