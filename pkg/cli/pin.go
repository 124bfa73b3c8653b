package cli

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/kwbauson/create-pin-refs/pkg/config"
	"github.com/kwbauson/create-pin-refs/pkg/narinfo"
	"github.com/kwbauson/create-pin-refs/pkg/netrc"
	"github.com/kwbauson/create-pin-refs/pkg/pins"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
	"github.com/kwbauson/create-pin-refs/pkg/verify"
)

// pinRequest is one pin to make: a name and what PATH (a store path or a
// link to one) names.
type pinRequest struct {
	Name      string
	Path      string
	Artifacts []string
	Keep      *cachix.Keep
}

// pinner makes pins: it checks that the path is in the binary cache, creates
// the pin and waits for the cache's list to show it.
type pinner struct {
	cache  string
	api    *cachix.Client
	binary verify.Source // the cache's substituter, or its bucket
	auth   cacheAuth     // what binary sends
	wait   time.Duration
	rep    reporter
}

// newPinner finds the cache's binary cache: substituter, else the uri the API
// gives. The token goes to the binary cache only when the cache is private
// (a public one needs none) and only to the origin of its uri: a substituter
// elsewhere gets its netrc entry, if any, and no token.
func newPinner(ctx context.Context, env Env, rep reporter, a config.API, substituter string, creds *netrc.File, wait time.Duration) (*pinner, error) {
	api, err := apiClient(env, rep, a)
	if err != nil {
		return nil, err
	}
	info, err := api.Cache(ctx, a.Cache)
	if err != nil {
		return nil, err
	}
	auth := cacheAuth{token: a.AuthToken, own: ownBinaryCache(a.Cache, info), netrc: creds}
	if substituter == "" {
		substituter = auth.own
	}
	if info.IsPublic {
		auth.token = ""
	}
	opts := auth.options(substituter, false)
	opts.UserAgent, opts.Policy = "create-pin-refs/"+env.Version, retryPolicy(env, rep)
	binary, err := narinfo.New(substituter, opts)
	if err != nil {
		return nil, fmt.Errorf("binary cache of %q: %w", a.Cache, err)
	}
	return &pinner{cache: a.Cache, api: api, binary: binary, auth: auth, wait: wait, rep: rep}, nil
}

// checkPin reads the store path that r.Path names and checks the pin as a
// bundle would, so that no pin is made that publishing would refuse.
func checkPin(r pinRequest) (string, error) {
	storePath, err := pins.ReadStoreLink(r.Path)
	if err != nil {
		return "", fmt.Errorf("pin %q: %w", r.Name, err)
	}
	_, err = pins.Build([]cachix.Pin{{Name: r.Name, LastRevision: cachix.Revision{StorePath: storePath, Artifacts: r.Artifacts}}}, pins.Options{OnInvalid: pins.Fail})
	if ip := (*pins.InvalidPinError)(nil); errors.As(err, &ip) {
		field := map[string]string{"name": "the name", "lastRevision.artifacts": "--artifact"}[ip.Field]
		if field == "" {
			field = "the path"
		}
		return "", fmt.Errorf("pin %q: %s: %w", r.Name, field, ip.Err)
	}
	return storePath, err
}

// pin makes one pin and returns it as the list shows it. A pin Cachix
// accepted but did not list in time gives a *cachix.NotListedError.
func (p *pinner) pin(ctx context.Context, r pinRequest) (cachix.Pin, error) {
	storePath, err := checkPin(r)
	if err != nil {
		return cachix.Pin{}, err
	}
	if storePath != r.Path {
		p.rep.Logf("%s is %s", r.Path, storePath)
	}
	if _, err := p.inCache(ctx, storePath); err != nil {
		return cachix.Pin{}, fmt.Errorf("pin %q: %w", r.Name, err)
	}
	err = p.api.CreatePin(ctx, p.cache, cachix.PinCreate{Name: r.Name, StorePath: storePath, Artifacts: r.Artifacts, Keep: r.Keep})
	if err != nil {
		return cachix.Pin{}, fmt.Errorf("pin %q: %w", r.Name, err)
	}
	made := cachix.Pin{Name: r.Name, LastRevision: cachix.Revision{StorePath: storePath, Artifacts: r.Artifacts}}
	if p.wait > 0 {
		if made, err = p.api.ConfirmPin(ctx, p.cache, r.Name, storePath, p.wait); err != nil {
			return cachix.Pin{Name: r.Name, LastRevision: cachix.Revision{StorePath: storePath}}, err
		}
	}
	rev := ""
	if made.LastRevision.Revision > 0 {
		rev = fmt.Sprintf(", revision %d", made.LastRevision.Revision)
	}
	p.rep.Logf("pinned %s to %s in cache %s (keep: %s%s)", r.Name, storePath, p.cache, r.Keep, rev)
	return made, nil
}

// inCache checks that the binary cache has storePath, by its narinfo,
// which it returns.
func (p *pinner) inCache(ctx context.Context, storePath string) (*narinfo.NarInfo, error) {
	n, err := p.binary.Get(ctx, narinfo.Hash(storePath))
	switch {
	case errors.Is(err, narinfo.ErrNotFound):
		return nil, fmt.Errorf("%s is not in the binary cache (%w): push it to cache %q first (cachix push %s %s)", storePath, err, p.cache, p.cache, storePath)
	case err != nil:
		var se *narinfo.StatusError
		if errors.As(err, &se) && errors.Is(err, narinfo.ErrUnauthorized) {
			hint := p.auth.hint(se, p.binary.URL(), false)
			if p.api == nil { // an S3 cache: no token of Cachix's
				hint = "without --substituter, the narinfo is read from the bucket through the S3 API; a --substituter that takes credentials needs a line `machine HOST password SECRET` in --netrc-file"
			}
			return nil, fmt.Errorf("checking that the binary cache has %s: %w (%s)", storePath, err, hint)
		}
		return nil, fmt.Errorf("checking that the binary cache has %s: %w", storePath, err)
	case n.StorePath != storePath:
		return nil, fmt.Errorf("the binary cache's narinfo for %s describes %s", storePath, n.StorePath)
	}
	return n, nil
}

func runPin(ctx context.Context, cfg *config.Pin, env Env, rep reporter) error {
	name, err := withSystem(cfg.Name, "pin")
	if err != nil {
		return err
	}
	r := pinRequest{Name: name, Path: cfg.Path, Artifacts: cfg.Artifacts, Keep: cfg.Keep}
	// Bad input fails before any request.
	if _, err := checkPin(r); err != nil {
		return err
	}
	creds, err := readNetrc(cfg.NetrcFile, rep)
	if err != nil {
		return err
	}
	if cfg.Store != "" {
		return pinInS3(ctx, cfg, env, rep, r, creds)
	}
	p, err := newPinner(ctx, env, rep, cfg.API, cfg.Substituter, creds, cfg.Wait)
	if err != nil {
		return err
	}
	_, err = p.pin(ctx, r)
	if nl := (*cachix.NotListedError)(nil); errors.As(err, &nl) {
		// The pin is made; only its listing is late.
		rep.Warnf("%v; it should show soon (%s)", err, listCommand(cfg.API))
		return nil
	}
	return err
}

// withSystem fills config.SystemPlaceholder in the pin name given by what
// (a flag or subcommand) with the Nix system this program runs on.
func withSystem(name, what string) (string, error) {
	if !strings.Contains(name, config.SystemPlaceholder) {
		return name, nil
	}
	system, known := pins.NixSystem(runtime.GOOS, runtime.GOARCH)
	if !known {
		return "", fmt.Errorf("%w: %s: Nix has no name for %s/%s to fill %s in %q", config.ErrUsage, what, runtime.GOOS, runtime.GOARCH, config.SystemPlaceholder, name)
	}
	return config.PinSpec{Name: name}.WithSystem(system), nil
}

// pinAll makes the pins of --pin, so that the pins then read and published
// include them. Every pin is checked before the first request; a pin that
// Cachix accepts but does not list in time stops the run, as the bundle
// would lack it.
func pinAll(ctx context.Context, cfg *config.Config, env Env, rep reporter, creds *netrc.File) error {
	reqs := make([]pinRequest, len(cfg.Pins))
	for i, s := range cfg.Pins {
		name, err := withSystem(s.Name, "--pin")
		if err != nil {
			return err
		}
		reqs[i] = pinRequest{Name: name, Path: s.Path, Keep: cfg.PinKeep}
		if _, err := checkPin(reqs[i]); err != nil {
			return fmt.Errorf("--pin: %w", err)
		}
	}
	p, err := newPinner(ctx, env, rep, config.API{Cache: cfg.Cache, AuthToken: cfg.AuthToken, CachixURL: cfg.CachixURL}, cfg.Substituter, creds, config.DefaultPinWait)
	if err != nil {
		return err
	}
	for _, r := range reqs {
		if _, err := p.pin(ctx, r); err != nil {
			if errors.Is(err, cachix.ErrNotListed) {
				return fmt.Errorf("%w; not publishing a bundle without it: run again once it is listed", err)
			}
			return err
		}
	}
	return nil
}
