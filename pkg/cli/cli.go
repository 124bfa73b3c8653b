// Package cli is the program: it loads the configuration, reads the pins, renders
// the bundle, writes the site and publishes it, and maps errors to exit codes.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/kwbauson/create-pin-refs/pkg/bundle"
	"github.com/kwbauson/create-pin-refs/pkg/cachix"
	"github.com/kwbauson/create-pin-refs/pkg/config"
	"github.com/kwbauson/create-pin-refs/pkg/pins"
	"github.com/kwbauson/create-pin-refs/pkg/site"
)

// Exit codes.
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
)

// Env is what the program takes from the process, injectable for tests.
type Env struct {
	Getenv     func(string) string
	Stdout     io.Writer
	Stderr     io.Writer
	HTTPClient *http.Client // nil: a client with a timeout
	Version    string
}

// Summary is the outcome of a run.
type Summary struct {
	Pins    int
	Names   int
	Systems []string
	Skipped []pins.Skipped
	Files   int
	Out     string
}

func (s *Summary) String() string {
	systems := "no system-specific pins"
	if len(s.Systems) > 0 {
		systems = strings.Join(s.Systems, ", ")
	}
	return fmt.Sprintf("published %d pins (%d names; systems: %s), %d skipped, %d files written to %s",
		s.Pins, s.Names, systems, len(s.Skipped), s.Files, s.Out)
}

// Main runs the program and returns its exit code.
func Main(ctx context.Context, args []string, env Env) int {
	cfg, err := config.Load(args, env.Getenv, env.Stderr)
	switch {
	case errors.Is(err, config.ErrHelp):
		return ExitOK
	case err != nil:
		fmt.Fprintf(env.Stderr, "create-pin-refs: %v\n", err)
		return ExitUsage
	}
	sum, err := Run(ctx, cfg, env)
	if err != nil {
		fmt.Fprintf(env.Stderr, "create-pin-refs: error: %v\n", err)
		return ExitError
	}
	fmt.Fprintln(env.Stderr, sum)
	return ExitOK
}

// Run does the work for a validated configuration.
func Run(ctx context.Context, cfg *config.Config, env Env) (*Summary, error) {
	logf := func(format string, args ...any) { fmt.Fprintf(env.Stderr, format+"\n", args...) }

	raw, info, err := readPins(ctx, cfg, env, logf)
	if err != nil {
		return nil, err
	}
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
		logf("warning: skipped pin %q: %s", s.PinName, s.Reason)
	}
	meta := bundleMeta(cfg, info)
	b, err := bundle.Render(set, meta)
	if err != nil {
		return nil, fmt.Errorf("rendering the bundle: %w", err)
	}
	logf("rendered %d files for %d pins", len(b.Files), len(set.Pins))
	n, err := site.Write(cfg.Out, b, site.NewManifest(set, meta))
	if err != nil {
		return nil, fmt.Errorf("writing the site to %s: %w", cfg.Out, err)
	}
	names := map[string]bool{}
	for _, p := range set.Pins {
		names[p.Name] = true
	}
	return &Summary{
		Pins:    len(set.Pins),
		Names:   len(names),
		Systems: set.Systems(),
		Skipped: set.Skipped,
		Files:   n,
		Out:     cfg.Out,
	}, nil
}

func readPins(ctx context.Context, cfg *config.Config, env Env, logf func(string, ...any)) ([]cachix.Pin, *cachix.CacheInfo, error) {
	var info *cachix.CacheInfo
	if cfg.CacheInfoFile != "" {
		i, err := cachix.ReadCacheInfoFile(cfg.CacheInfoFile)
		if err != nil {
			return nil, nil, err
		}
		info = i
	}
	var client *cachix.Client
	if cfg.PinsFile == "" || (info == nil && cfg.Cache != "" && cfg.Substituter == "" && len(cfg.PublicKeys) == 0) {
		hc := env.HTTPClient
		if hc == nil {
			hc = &http.Client{Timeout: 60 * time.Second}
		}
		c, err := cachix.New(cfg.CachixURL,
			cachix.WithHTTPClient(hc),
			cachix.WithToken(cfg.AuthToken),
			cachix.WithUserAgent("create-pin-refs/"+env.Version),
			cachix.WithRetryHook(func(e cachix.RetryEvent) { logf("retrying Cachix: %v", e.Err) }),
		)
		if err != nil {
			return nil, nil, fmt.Errorf("cachix-url: %w", err)
		}
		client = c
	}
	if info == nil && client != nil && cfg.Cache != "" {
		logf("reading cache %s from %s", cfg.Cache, cfg.CachixURL)
		i, err := client.Cache(ctx, cfg.Cache)
		if err != nil {
			return nil, nil, err
		}
		info = i
	}
	if cfg.PinsFile != "" {
		raw, err := cachix.ReadPinsFile(cfg.PinsFile)
		return raw, info, err
	}
	logf("reading pins of %s", cfg.Cache)
	raw, err := client.Pins(ctx, cfg.Cache)
	if err != nil {
		return nil, nil, err
	}
	logf("read %d pins", len(raw))
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
	}
	if m.Substituter == "" && m.Cache != "" {
		m.Substituter = "https://" + m.Cache + ".cachix.org"
	}
	return m
}
