package cli

import (
	"context"
	"errors"
	"strings"

	"github.com/kwbauson/create-pin-refs/pkg/config"
	"github.com/kwbauson/create-pin-refs/pkg/kept"
	"github.com/kwbauson/create-pin-refs/pkg/retry"
	"github.com/kwbauson/create-pin-refs/pkg/site"
)

// keptBundles reads the immutable bundles of earlier publishes that the site
// serves again, up to --keep-bundles publishes in all, and lists them in m
// after this publish's own, from the previous publish's site (earlierSite:
// the live site in pages mode, --out in the others). Nothing here fails the
// publish: a first site, or one whose name does not resolve, is a notice; a
// site that does not answer within kept.DefaultLimits.List (about a second),
// and a bundle that is gone or damaged, are warnings. The bundles at the
// paths in unpublished were written by earlier rounds of this run and never
// published.
func keptBundles(ctx context.Context, cfg *config.Config, rep reporter, prev *earlierSite, m *site.ManifestData, unpublished []string) map[string][]byte {
	if cfg.KeepBundles <= 1 || len(m.Bundles) == 0 {
		return nil
	}
	refs, err := prev.get(ctx, false).List()
	var perm *retry.PermanentError
	switch nse := (*kept.NoSiteError)(nil); {
	case errors.As(err, &nse) && errors.Is(err, context.DeadlineExceeded):
		// Its budget ran out: likelier a live site slow or down than a first
		// publish, and its earlier bundles are then lost.
		rep.Warnf("%v; the site serves only this publish's immutable bundle, so flake locks of earlier ones stop resolving", err)
	case errors.As(err, &nse) && errors.As(err, &perm):
		// A name that does not resolve, a certificate that does not
		// verify: likelier a wrong URL than a site of ours.
		rep.Logf("notice: %v; is --pages-url right? The site serves only this publish's immutable bundle", err)
	case errors.As(err, &nse) && errors.Is(err, kept.ErrNotFound):
		// Why was said once, by the verification's notice.
		rep.Logf("notice: no %s at %s (a first publish?): the site serves only this publish's immutable bundle", site.Manifest, nse.Site)
	case errors.As(err, &nse):
		rep.Logf("notice: %v (a first publish?); the site serves only this publish's immutable bundle", err)
	}
	current := m.Bundles[0]
	base := strings.TrimSuffix(current.URL, current.Path)
	bundles, skipped := kept.CollectFrom(ctx, prev.bundleSource(), kept.DefaultLimits, cfg.KeepBundles, refs, current, base, unpublished...)
	for _, e := range skipped {
		rep.Warnf("an earlier immutable bundle is not served again, so flake locks of it stop resolving: %v", e)
	}
	files := map[string][]byte{}
	for _, k := range bundles {
		files[k.Path] = k.Data
		m.Bundles = append(m.Bundles, k.BundleRef)
	}
	rep.Logf("immutable bundles: %s, and %d of earlier publishes from %s", current.Path, len(bundles), prev.src)
	return files
}
