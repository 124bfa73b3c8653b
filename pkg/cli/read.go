package cli

// Reading the pins and the cache's description, and making the set and the
// bundle's metadata from them.

import (
	"context"
	"fmt"
	"strings"

	"github.com/kwbauson/create-pin-refs/pkg/bundle"
	"github.com/kwbauson/create-pin-refs/pkg/config"
	"github.com/kwbauson/create-pin-refs/pkg/pins"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
	"github.com/kwbauson/create-pin-refs/pkg/weburl"
)

// buildSet validates and filters the pins.
func buildSet(cfg *config.Config, rep reporter, raw []cachix.Pin) (*pins.Set, error) {
	set, err := pins.Build(raw, pins.Options{
		Include:    cfg.Include,
		Exclude:    cfg.Exclude,
		OnInvalid:  cfg.OnInvalid,
		AllowEmpty: cfg.AllowEmpty,
	})
	if err != nil {
		return nil, err
	}
	for _, s := range set.Skipped {
		rep.Warnf("skipped pin %q: %s", s.PinName, s.Reason)
	}
	warnNearSystems(rep, set)
	return set, nil
}

// nearSystemWarnings bounds the warnings of warnNearSystems.
const nearSystemWarnings = 10

// warnNearSystems warns of system-less pins whose last part looks like a
// mistyped system: they are offered on every system.
func warnNearSystems(rep reporter, set *pins.Set) {
	n := 0
	for _, p := range set.Pins {
		i := strings.LastIndexByte(p.PinName, '.')
		if p.System != "" || i < 0 || !pins.NearSystem(p.PinName[i+1:]) {
			continue
		}
		if n++; n <= nearSystemWarnings {
			rep.Warnf("pin %q: %q is not a Nix system (such as x86_64-linux), so the pin is offered on every system as %q; rename it in Cachix if it was meant for one system",
				p.PinName, p.PinName[i+1:], p.Name)
		}
	}
	if n > nearSystemWarnings {
		rep.Warnf("and %d more pins whose last part looks like a mistyped system", n-nearSystemWarnings)
	}
}

// readPins reads the pins and, when it is needed, the cache's description.
// first, when not nil, runs before the pins are requested (the branch's
// head is read before them); the description is read meanwhile, as it
// need not wait for either, and its retries are logged once it is in. An
// error of first is the one returned, then the description's, as when they
// ran in turn.
func readPins(ctx context.Context, cfg *config.Config, env Env, rep reporter, first func(context.Context) error) ([]cachix.Pin, *cachix.CacheInfo, error) {
	var info *cachix.CacheInfo
	if cfg.CacheInfoFile != "" {
		i, err := cachix.ReadCacheInfoFile(cfg.CacheInfoFile)
		if err != nil {
			return nil, nil, fmt.Errorf("--cache-info-file: %w", err)
		}
		info = i
	}
	needInfo := info == nil && cfg.Cache != "" && (cfg.Substituter == "" || len(cfg.PublicKeys) == 0)
	var client *cachix.Client
	if cfg.FromCachix() {
		c, err := newCachixClient(env, rep, cfg.CachixURL, cfg.AuthToken)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: --cachix-url: %w", config.ErrUsage, err)
		}
		client = c
	}
	var (
		infoErr  error
		infoLog  heldLog
		infoDone = make(chan struct{})
	)
	// first has ctx: an error of the description, reported after first's,
	// does not cut it short; the pins, reported after the description's,
	// have pinsCtx.
	pinsCtx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		<-infoDone
	}()
	if needInfo {
		c, err := newCachixClient(env, heldReporter{rep, &infoLog}, cfg.CachixURL, cfg.AuthToken)
		if err != nil {
			close(infoDone)
			return nil, nil, fmt.Errorf("%w: --cachix-url: %w", config.ErrUsage, err)
		}
		go func() {
			defer close(infoDone)
			if info, infoErr = c.Cache(pinsCtx, cfg.Cache); infoErr != nil {
				cancel() // its error is the one reported
			}
		}()
	} else {
		close(infoDone)
	}
	if first != nil {
		if err := first(ctx); err != nil {
			return nil, nil, err
		}
	}
	if needInfo {
		rep.Logf("reading cache %s from %s", cfg.Cache, weburl.Redacted(cfg.CachixURL))
	}
	var raw []cachix.Pin
	var err error
	switch {
	case cfg.PinsFile != "":
		rep.Logf("reading pins from %s", cfg.PinsFile)
		if raw, err = cachix.ReadPinsFile(cfg.PinsFile); err != nil {
			err = fmt.Errorf("--pins-file: %w", err)
		}
	case cfg.PinsFrom != "":
		rep.Logf("reading pins from %s", cfg.PinsFrom)
		raw, err = readS3Pins(pinsCtx, cfg, env)
	default:
		rep.Logf("reading pins of %s", cfg.Cache)
		raw, err = client.Pins(pinsCtx, cfg.Cache)
	}
	<-infoDone
	infoLog.flush(rep)
	if infoErr != nil {
		return nil, nil, infoErr // the first request made, as when they ran in turn
	}
	if err != nil {
		return nil, nil, err
	}
	if cfg.PinsFile == "" {
		rep.Logf("read %s", count(len(raw), "pin"))
	}
	return raw, info, nil
}

// bundleMeta picks the substituter and keys: flags first, then the cache's own
// information, then Cachix's naming convention.
func bundleMeta(cfg *config.Config, info *cachix.CacheInfo) bundle.Meta {
	m := bundle.Meta{Cache: cfg.Cache, Substituter: cfg.Substituter, PublicKeys: cfg.PublicKeys}
	if info != nil {
		if m.Cache == "" {
			m.Cache = info.Name
		}
		if m.Substituter == "" {
			m.Substituter = info.URI
		}
		if len(m.PublicKeys) == 0 {
			m.PublicKeys = info.PublicSigningKeys
		}
		m.Private = !info.IsPublic
	}
	if m.Substituter == "" {
		m.Substituter = ownBinaryCache(m.Cache, info)
	}
	return m
}
