package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/kwbauson/create-pin-refs/pkg/config"
	"github.com/kwbauson/create-pin-refs/pkg/kept"
	"github.com/kwbauson/create-pin-refs/pkg/retry"
	"github.com/kwbauson/create-pin-refs/pkg/site"
)

// indexLimit bounds the previous index.html read; the page is ~15 KB at any
// pin count.
const indexLimit = 1 << 20

// previous is what the site of the previous publish says of itself, read
// before this publish replaces anything: in pages mode from the live site,
// since a deploy replaces the whole site; in the other modes from --out.
type previous struct {
	src     kept.Source
	bundles []site.BundleRef // its pins.json's bundle list, its own first
	err     error            // a *kept.NoSiteError: no list could be read
	index   []byte           // its index.html; nil: none
	// indexErr is why its index.html could not be read, when it exists.
	indexErr error
}

// readPrevious reads the previous publish's bundle list and, when withIndex,
// its index.html. Nothing here fails the publish.
func readPrevious(ctx context.Context, cfg *config.Config, env Env, rep reporter, current site.BundleRef, withIndex bool) *previous {
	base := strings.TrimSuffix(current.URL, current.Path)
	p := &previous{src: kept.Dir(cfg.Out)}
	if cfg.Mode == config.ModePages && base != "" {
		hc := env.HTTPClient
		if hc == nil {
			// Each attempt is bounded by the retry policy.
			hc = &http.Client{}
		}
		p.src = kept.HTTP{Client: hc, Base: base, Policy: retryPolicy(env, rep)}
	}
	if p.bundles, p.err = kept.List(ctx, p.src, kept.DefaultLimits); p.err != nil || !withIndex {
		return p
	}
	data, err := p.src.Get(ctx, site.Index, indexLimit)
	switch {
	case errors.Is(err, kept.ErrNotFound):
	case err != nil:
		p.indexErr = err
	case len(data) > indexLimit:
		p.indexErr = fmt.Errorf("%s: %w of %d bytes", site.Index, kept.ErrTooLarge, indexLimit)
	default:
		p.index = data
	}
	return p
}

// changed reports whether a publish listing bundles in pins.json and writing
// index (nil: none) differs from the previous one: in the bundle list (this
// publish's bundle, named by a hash of its content, then the earlier ones the
// site keeps serving) or in index.html, which shows the version, the URLs and
// whether the one-name bundles are built. A previous site that cannot be read
// is a change. why says so in a few words.
func (p *previous) changed(bundles []site.BundleRef, index []byte) (changed bool, why string) {
	switch {
	case p.err != nil:
		return true, fmt.Sprintf("nothing to compare with: %v", p.err)
	case !slices.Equal(p.bundles, bundles):
		return true, "the bundle or the earlier bundles kept differ from those of the previous publish at " + p.src.String()
	case index == nil:
		// An index.html not written is not replaced.
		return false, "the same bundle and earlier bundles as the previous publish at " + p.src.String()
	case p.indexErr != nil:
		return true, fmt.Sprintf("the previous %s could not be read: %v", site.Index, p.indexErr)
	case !bytes.Equal(p.index, index):
		return true, site.Index + " differs from that of the previous publish at " + p.src.String()
	}
	return false, "the same bundle, earlier bundles and " + site.Index + " as the previous publish at " + p.src.String()
}

// keptBundles reads the immutable bundles of earlier publishes that the site
// serves again, up to --keep-bundles publishes in all, and lists them in m
// after this publish's own, from prev (read by readPrevious). Nothing here
// fails the publish: a first site, or one whose name does not resolve, is a
// notice; a site that does not answer within kept.DefaultLimits.List (about
// a second), and a bundle that is gone or damaged, are warnings. The bundles at the paths in
// unpublished were written by earlier rounds of this run and never published.
func keptBundles(ctx context.Context, cfg *config.Config, rep reporter, prev *previous, m *site.ManifestData, unpublished []string) map[string][]byte {
	if cfg.KeepBundles <= 1 || len(m.Bundles) == 0 {
		return nil
	}
	var perm *retry.PermanentError
	switch nse := (*kept.NoSiteError)(nil); {
	case errors.As(prev.err, &nse) && errors.Is(prev.err, context.DeadlineExceeded):
		// Its budget ran out: likelier a live site slow or down than a first
		// publish, and its earlier bundles are then lost.
		rep.Warnf("%v; the site serves only this publish's immutable bundle, so flake locks of earlier ones stop resolving", prev.err)
	case errors.As(prev.err, &nse) && errors.As(prev.err, &perm):
		// A name that does not resolve, a certificate that does not
		// verify: likelier a wrong URL than a site of ours.
		rep.Logf("notice: %v; is --pages-url right? The site serves only this publish's immutable bundle", prev.err)
	case errors.As(prev.err, &nse):
		rep.Logf("notice: %v (a first publish?); the site serves only this publish's immutable bundle", prev.err)
	}
	current := m.Bundles[0]
	base := strings.TrimSuffix(current.URL, current.Path)
	var bundles []kept.Bundle
	if prev.err == nil {
		var skipped []error
		bundles, skipped = kept.CollectFrom(ctx, prev.src, kept.DefaultLimits, cfg.KeepBundles, prev.bundles, current, base, unpublished...)
		for _, e := range skipped {
			rep.Warnf("an earlier immutable bundle is not served again, so flake locks of it stop resolving: %v", e)
		}
	}
	files := map[string][]byte{}
	for _, k := range bundles {
		files[k.Path] = k.Data
		m.Bundles = append(m.Bundles, k.BundleRef)
	}
	rep.Logf("immutable bundles: %s, and %d of earlier publishes from %s", current.Path, len(bundles), prev.src)
	return files
}
