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
	"github.com/kwbauson/create-pin-refs/pkg/source/s3pins"
	"github.com/kwbauson/create-pin-refs/pkg/verify"
	"github.com/kwbauson/create-pin-refs/pkg/weburl"
)

// buildSet validates and filters the pins.
func buildSet(cfg *config.Config, rep reporter, read *pinsRead) (*pins.Set, error) {
	set, err := pins.Build(read.raw, pins.Options{
		FieldName:  read.fieldName,
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

// pinsRead is what readPins read.
type pinsRead struct {
	raw  []cachix.Pin
	info *cachix.CacheInfo // nil: not read
	// fieldName names the pins' fields as their source holds them.
	fieldName func(pin, field string) string
	// cache is the pins' binary cache as their source reads it (an S3
	// cache: its bucket, through the S3 API); nil: the substituter's URL.
	cache verify.Source
}

// readPins reads the pins and, when it is needed, the cache's description.
// first, when not nil, runs before the pins are requested (the branch's
// head is read before them); the description is read meanwhile, as it
// need not wait for either, and its retries are logged once it is in. An
// error of first is the one returned, then the description's, as when they
// ran in turn.
func readPins(ctx context.Context, cfg *config.Config, env Env, rep reporter, first func(context.Context) error) (*pinsRead, error) {
	var info *cachix.CacheInfo
	if cfg.CacheInfoFile != "" {
		i, err := cachix.ReadCacheInfoFile(cfg.CacheInfoFile)
		if err != nil {
			return nil, fmt.Errorf("--cache-info-file: %w", err)
		}
		info = i
	}
	needInfo := info == nil && cfg.Cache != "" && (cfg.Substituter == "" || len(cfg.PublicKeys) == 0)
	var client *cachix.Client
	if cfg.FromCachix() {
		c, err := newCachixClient(env, rep, cfg.CachixURL, cfg.AuthToken)
		if err != nil {
			return nil, fmt.Errorf("%w: --cachix-url: %w", config.ErrUsage, err)
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
			return nil, fmt.Errorf("%w: --cachix-url: %w", config.ErrUsage, err)
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
			return nil, err
		}
	}
	if needInfo {
		rep.Logf("reading cache %s from %s", cfg.Cache, weburl.Redacted(cfg.CachixURL))
	}
	var raw []cachix.Pin
	src, flag, err := newPinSource(pinsCtx, cfg, env, client)
	if err == nil {
		rep.Logf("reading %s", src)
		if raw, err = src.Pins(pinsCtx); err != nil && flag != "" {
			err = fmt.Errorf("--%s: %w", flag, err)
		}
	}
	<-infoDone
	infoLog.flush(rep)
	if infoErr != nil {
		return nil, infoErr // the first request made, as when they ran in turn
	}
	if err != nil {
		return nil, err
	}
	if cfg.PinsFile == "" {
		rep.Logf("read %s", count(len(raw), "pin"))
	}
	read := &pinsRead{raw: raw, info: info, fieldName: fieldNames(src)}
	if s, ok := src.(s3pins.Source); ok {
		read.cache = bucketCache{s.Bucket}
	}
	return read, nil
}

// pinSource is where a round reads the pins: a type of each folder of
// pkg/source. They come in the shape of Cachix's pin list (cachix.Pin),
// which the pins file already has.
type pinSource interface {
	Pins(ctx context.Context) ([]cachix.Pin, error)
	// String is what the log says is read: "pins of CACHE", "pins from
	// FILE".
	String() string
}

// fieldNamer is a source whose pins' fields have other names than in
// Cachix's list (lastRevision.storePath…), given in errors instead.
type fieldNamer interface {
	FieldName(pin, field string) string
}

// fieldNames is how src names its pins' fields (nil: Cachix's names).
func fieldNames(src pinSource) func(pin, field string) string {
	if n, ok := src.(fieldNamer); ok {
		return n.FieldName
	}
	return nil
}

// maxS3Pins bounds the pins read from an S3 cache.
const maxS3Pins = 1_000_000

// newPinSource is the source the flags name, and the flag its errors are
// said under ("" for the Cachix API, whose errors name its URL): the one
// place a new source is added.
func newPinSource(ctx context.Context, cfg *config.Config, env Env, client *cachix.Client) (pinSource, string, error) {
	switch {
	case cfg.PinsFile != "":
		return cachix.File(cfg.PinsFile), "pins-file", nil
	case cfg.PinsFrom != "":
		b, err := openBucket(ctx, env, "pins-from", cfg.PinsFrom, cfg.S3Endpoint)
		if err != nil {
			return nil, "", err
		}
		return s3pins.Source{Bucket: b, Limit: maxS3Pins}, "pins-from", nil
	}
	return cachix.API{Client: client, Cache: cfg.Cache}, "", nil
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
