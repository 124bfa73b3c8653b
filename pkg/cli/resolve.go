package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"

	"github.com/kwbauson/create-pin-refs/pkg/config"
	"github.com/kwbauson/create-pin-refs/pkg/pins"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
	"github.com/kwbauson/create-pin-refs/pkg/weburl"
)

// ErrNoSuchPin is the cause of a PinNotFoundError.
var ErrNoSuchPin = errors.New("no such pin")

// PinNotFoundError says that no pin resolves NAME on a system, and what
// comes close.
type PinNotFoundError struct {
	Cache, Name, System string
	// List is the command that lists the cache's pins.
	List string
	// Systems has pins of Name for other systems only.
	Systems []string
	// Close are names that look like Name.
	Close []string
	Pins  int
}

func (e *PinNotFoundError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cache %q has no pin %q for %s, nor one without a system", e.Cache, e.Name, e.System)
	switch {
	case len(e.Systems) > 0:
		fmt.Fprintf(&b, "; it has %s.SYSTEM for %s (pass --system to choose one)", e.Name, strings.Join(e.Systems, ", "))
	case len(e.Close) > 0:
		fmt.Fprintf(&b, "; close names: %s", strings.Join(e.Close, ", "))
	default:
		fmt.Fprintf(&b, "; it has %d pins (%s shows them)", e.Pins, cmp.Or(e.List, "create-pin-refs list --cache "+e.Cache))
	}
	return b.String()
}

func (e *PinNotFoundError) Unwrap() error { return ErrNoSuchPin }

// listCommand is the command that lists the pins of api's cache.
func listCommand(api config.API) string {
	cmd := "create-pin-refs list --cache " + api.Cache
	if api.CachixURL != config.DefaultCachixURL {
		cmd += " --cachix-url " + weburl.Redacted(api.CachixURL)
	}
	return cmd
}

func runResolve(ctx context.Context, cfg *config.Resolve, env Env, rep reporter, out dataOut) error {
	system := cfg.System
	if system == "" {
		s, ok := pins.NixSystem(runtime.GOOS, runtime.GOARCH)
		if !ok {
			return fmt.Errorf("%w: --system: Nix has no name for %s/%s; pass one", config.ErrUsage, runtime.GOOS, runtime.GOARCH)
		}
		system = s
	}
	raw, err := readCachePins(ctx, env, rep, cfg.API)
	if err != nil {
		return err
	}
	p, err := resolvePin(raw, cfg.Cache, cfg.Name, system)
	if nf := (*PinNotFoundError)(nil); errors.As(err, &nf) {
		nf.List = listCommand(cfg.API)
	}
	if err != nil {
		return err
	}
	if p.NoLastRevision {
		return fmt.Errorf("pin %q: lastRevision: %w", p.Name, pins.NoRevisionError(p.Name))
	}
	if err := pins.ValidateStorePath(p.LastRevision.StorePath); err != nil {
		return fmt.Errorf("pin %q: lastRevision.storePath: %w", p.Name, err)
	}
	return out.print(p.LastRevision.StorePath)
}

// resolvePin picks NAME.SYSTEM, else the pin named exactly NAME (system-less,
// or a full name such as hello.x86_64-linux).
func resolvePin(raw []cachix.Pin, cache, name, system string) (cachix.Pin, error) {
	for _, p := range raw {
		if n, s := pins.SplitName(p.Name); n == name && s == system {
			return p, nil
		}
	}
	for _, p := range raw {
		if p.Name == name {
			return p, nil
		}
	}
	e := &PinNotFoundError{Cache: cache, Name: name, System: system, Pins: len(raw)}
	type near struct {
		name string
		d    int
	}
	var nearby []near
	for _, p := range raw {
		n, s := pins.SplitName(p.Name)
		if n == name {
			e.Systems = append(e.Systems, s)
			continue
		}
		if d := distance(strings.ToLower(n), strings.ToLower(name)); d <= max(1, len(name)/3) || strings.Contains(strings.ToLower(n), strings.ToLower(name)) {
			nearby = append(nearby, near{n, d})
		}
	}
	slices.Sort(e.Systems)
	slices.SortFunc(nearby, func(a, b near) int { return cmp.Or(cmp.Compare(a.d, b.d), strings.Compare(a.name, b.name)) })
	for _, c := range nearby {
		if !slices.Contains(e.Close, c.name) && len(e.Close) < 5 {
			e.Close = append(e.Close, c.name)
		}
	}
	return cachix.Pin{}, e
}

// distance is the Levenshtein distance of a and b, in bytes.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
