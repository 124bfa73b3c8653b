package cli

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"net/url"

	"github.com/kwbauson/create-pin-refs/pkg/bundle"
	"github.com/kwbauson/create-pin-refs/pkg/config"
	"github.com/kwbauson/create-pin-refs/pkg/httpauth"
	"github.com/kwbauson/create-pin-refs/pkg/pins"
	"github.com/kwbauson/create-pin-refs/pkg/site"
)

// writeSite turns the pins into the bundle and writes the site. Where the bundle
// will be served is settled first (pub.served), so that its README and the
// index page show the right commands. prev is the previous publish's site.
// In pages mode the previous site is kept aside for the artifact
// (writeArtifact), which the returned pending waits for; it is nil
// otherwise.
func writeSite(ctx context.Context, cfg *config.Config, env Env, rep reporter, set *pins.Set, meta bundle.Meta, pub publisher, prev *earlierSite) (rendered, error) {
	// A branch holds the bundle, not the site: its own tarball serves it
	// and it knows whether the publish changed anything.
	branch, _ := pub.(*branchPublisher)
	b, err := bundle.Render(set, meta)
	if err != nil {
		return rendered{}, fmt.Errorf("rendering the bundle: %w", err)
	}
	rep.Logf("rendered %s for %s", count(len(b.Files), "file"), count(len(set.Pins), "pin"))
	res := &Result{Set: set, Meta: meta, SiteDir: cfg.Out}
	for i, p := range set.Pins { // sorted by name
		if i == 0 || p.Name != set.Pins[i-1].Name {
			res.Names++
		}
	}

	if err := pub.served(cfg, res); err != nil {
		return rendered{}, err
	}
	warnPlainHTTP(rep, res.URL)
	manifest := site.NewManifest(set, meta)
	view := site.IndexView{URL: res.URL, FlakeRef: res.FlakeRef, GeneratedBy: env.Version}
	switch {
	case branch != nil:
		// The branch's own tarball serves `-f` (any Nix) and, by its .tar.gz
		// name, flakes on old Nix.
		view.URL = branch.archiveURL
	case view.URL == "":
		view.URL = "URL"
	}
	if res.Readme, err = site.Seal(b, &manifest, &view); err != nil {
		return rendered{}, err
	}
	res.Lock = view.Lock
	if len(manifest.Bundles) > 0 {
		res.bundlePath = manifest.Bundles[0].Path
		if manifest.Bundles[0].URL != "" {
			res.lockURL = site.LockURL(manifest.Bundles[0])
		}
	}
	// Pages and dir modes say whether the site changed by comparing it with
	// the previous publish's; branch mode knows from the branch.
	if branch == nil {
		prev.forChanged(ctx, res.URL != "")
	}
	earlier := keptBundles(ctx, cfg, rep, prev, &manifest, branch.unpublishedBundles())

	in := site.Input{Bundle: b, Manifest: manifest, Earlier: earlier}
	if cfg.PerPinURLs != config.PerPinOff {
		if res.ones, err = bundle.NewOnes(set, meta); err != nil {
			return rendered{}, fmt.Errorf("rendering the one-name bundles: %w", err)
		}
		if branch == nil { // a branch holds them unpacked
			in.PerPin = site.PerPin{Ones: res.ones, Auto: cfg.PerPinURLs == config.PerPinAuto, Budget: cmp.Or(env.ArtifactBudget, site.ArtifactBudget)}
			if cfg.Mode == config.ModeS3 {
				// A bucket has no artifact to keep small: an update
				// uploads only the one-name bundles that changed.
				in.PerPin.Budget = math.MaxInt
			}
		}
	}
	if res.URL != "" {
		in.Index = func(perPin bool) ([]byte, error) {
			v := view
			switch {
			case branch != nil && branchOnes(cfg.PerPinURLs, res.ones.Len()):
				v.PerPinURL = PerPinFlakeRef(branch.flakeRef)
			case perPin:
				v.PerPinURL = site.PerPinURL(v.URL)
			}
			return site.RenderIndex(manifest, v)
		}
	}
	var (
		out     site.Output
		pending *site.Pending
	)
	if cfg.Mode == config.ModePages {
		out, pending, err = site.WriteSitePending(cfg.Out, in)
	} else {
		out, err = site.WriteSite(cfg.Out, in)
	}
	if err != nil {
		return rendered{}, fmt.Errorf("writing the site to %s: %w", cfg.Out, err)
	}
	res.Files, res.PerPin, res.written = out.Files, out.PerPin, out.Written
	for _, name := range out.Stale {
		rep.Logf("notice: removed %s from %s: a staging folder left by a run that did not finish", name, cfg.Out)
	}
	if branch == nil {
		res.Changed = true
		var why string
		res.Changed, why = prev.changed(cfg.Out, manifest.Bundles, out.Written[site.Index])
		rep.Logf("changed: %t (%s)", res.Changed, why)
	}
	switch {
	case out.PerPin.Built && res.URL != "":
		res.PerPinURL = site.PerPinURL(res.URL)
	case branch == nil && res.ones != nil && res.ones.Len() > 0 && !out.PerPin.Built:
		rep.Logf("notice: per-pin URLs (URL/%s/NAME) left out: the %d names would add %s to the Pages artifact, making it %s, over its %s budget; --per-pin-urls on builds them anyway",
			site.OnesDir, out.PerPin.Names, site.Size(uint64(out.PerPin.Bytes)), site.Size(uint64(out.PerPin.Artifact+out.PerPin.Bytes)), site.Size(uint64(in.PerPin.Budget)))
	}
	return rendered{res: res, bundle: b, pending: pending}, nil
}

// warnPlainHTTP warns of a site that consumers would fetch over plain http
// from another machine: anyone on the way could change what they run.
func warnPlainHTTP(rep reporter, siteURL string) {
	u, err := url.Parse(siteURL)
	if err != nil || u.Scheme != "http" || httpauth.OriginOf(u).Loopback() {
		return
	}
	rep.Warnf("consumers fetch the pins from %s over plain http, so anyone on the way can change the store paths they run; serve the site over https (--pages-url, --site-url)", siteURL)
}
