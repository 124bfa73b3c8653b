package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/kwbauson/create-pin-refs/pkg/bundle"
	"github.com/kwbauson/create-pin-refs/pkg/config"
	"github.com/kwbauson/create-pin-refs/pkg/kept"
	"github.com/kwbauson/create-pin-refs/pkg/publish/pages"
	"github.com/kwbauson/create-pin-refs/pkg/site"
)

// publisher is where a round's site goes: one type per mode, each over its
// folder of pkg/publish (dir and pages over pages, branch, s3). A round
// calls it at each step; newPublisher is the one place a mode is added.
type publisher interface {
	// readBase runs before the pins are read: what this publish is made
	// on top of (a branch's head), so that it never replaces a publish
	// made from a later reading of the pins.
	readBase(ctx context.Context) error
	// earlier is where the previous publish's site is read; held
	// reports what is read ahead, whose lines are logged later.
	earlier(cfg *config.Config, env Env, rep, held reporter) earlierAt
	// served sets where the site is served (res.URL, res.FlakeRef),
	// before it is rendered, so that its README and index say so.
	served(cfg *config.Config, res *Result) error
	// title is the log group of publish; "": publish does nothing (the
	// site in --out is the publish).
	title() string
	// publish puts the site, written to --out, where consumers fetch it.
	publish(ctx context.Context, cfg *config.Config, r rendered) error
	// again decides, after a round's err, whether to read the pins again
	// (another publish came in between), and the error to return if not.
	again(ctx context.Context, env Env, round int, res *Result, err error) (bool, error)
}

// rendered is a round's output: its result, the bundle and, in pages
// mode, the site that goes live with the artifact.
type rendered struct {
	res     *Result
	bundle  *bundle.Bundle
	pending *site.Pending
	// earlier are the previous site's files that the round read whole.
	earlier map[string][]byte
}

// earlierAt is where a mode reads the previous publish's site.
type earlierAt struct {
	// src and ahead read its pins.json, index.html and immutable bundles;
	// ahead holds the lines of its retries (nil: --out).
	src, ahead kept.Source
	// head is the pins.json of the branch's head, for the verdicts (nil:
	// the site's).
	head kept.Source
}

func newPublisher(ctx context.Context, cfg *config.Config, env Env, rep reporter) (publisher, error) {
	switch cfg.Mode {
	case config.ModeBranch:
		p, err := newBranchPublisher(cfg, env, rep)
		if err != nil { // not a nil *branchPublisher in the interface
			return nil, err
		}
		return p, nil
	case config.ModeS3:
		p, err := newS3Publisher(ctx, cfg, env, rep)
		if err != nil {
			return nil, err
		}
		return p, nil
	case config.ModePages:
		return &pagesPublisher{rep: rep}, nil
	}
	return dirPublisher{}, nil
}

// dirPublisher writes the site to --out, and nothing else: what a later
// step or another CI's upload serves.
type dirPublisher struct{}

func (dirPublisher) readBase(context.Context) error { return nil }

func (dirPublisher) earlier(*config.Config, Env, reporter, reporter) earlierAt { return earlierAt{} }

func (dirPublisher) served(cfg *config.Config, res *Result) error {
	if cfg.Repo != "" || cfg.PagesURL != "" {
		res.URL, _ = pages.PagesURL(cfg.Repo, cfg.PagesURL)
	}
	return nil
}

func (dirPublisher) title() string { return "" }

func (dirPublisher) publish(context.Context, *config.Config, rendered) error { return nil }

func (dirPublisher) again(_ context.Context, _ Env, _ int, _ *Result, err error) (bool, error) {
	return false, err
}

// pagesPublisher writes the site and the artifact that actions/deploy-pages
// takes; the previous publish is the live site.
type pagesPublisher struct {
	dirPublisher
	rep reporter
}

func (*pagesPublisher) earlier(cfg *config.Config, env Env, rep, held reporter) earlierAt {
	// The URL of the tarball (URL/pins), under the site's base.
	u, err := pages.PagesURL(cfg.Repo, cfg.PagesURL)
	if err != nil {
		return earlierAt{}
	}
	base := strings.TrimSuffix(u, site.Tarball)
	hc := env.HTTPClient
	if hc == nil {
		// Each attempt is bounded by the retry policy.
		hc = &http.Client{}
	}
	return earlierAt{
		src:   kept.HTTP{Client: hc, Base: base, Policy: retryPolicy(env, rep)},
		ahead: kept.HTTP{Client: hc, Base: base, Policy: retryPolicy(env, held)},
	}
}

func (*pagesPublisher) served(cfg *config.Config, res *Result) (err error) {
	if res.URL, err = pages.PagesURL(cfg.Repo, cfg.PagesURL); err != nil {
		// The configuration was checked; this is a bug, said plainly.
		return fmt.Errorf("%w: --%w", config.ErrUsage, err)
	}
	return nil
}

func (*pagesPublisher) title() string { return "Writing the Pages artifact" }

func (p *pagesPublisher) publish(ctx context.Context, cfg *config.Config, r rendered) error {
	if r.pending == nil {
		return errors.New("pages mode: the site was written with no previous one kept aside for the artifact")
	}
	return writeArtifact(ctx, cfg, p.rep, r.res, r.pending)
}

// writeArtifact packs the site as the Pages artifact. The site and the
// artifact go live together, or neither does: the new site is in place with
// the previous one kept aside (pending); the artifact is written to a
// temporary file beside its path and renamed over the previous one; only then
// is the previous site discarded. A failure at either step puts the previous
// site back and leaves the previous artifact as it was, so that --out and the
// artifact never hold different publishes.
func writeArtifact(ctx context.Context, cfg *config.Config, rep reporter, res *Result, pending *site.Pending) error {
	stats, err := pages.WriteArtifactFrom(ctx, cfg.Out, cfg.Artifact, res.written, pending.Staging())
	if err != nil {
		what, hint := "writing the Pages artifact "+cfg.Artifact, ""
		if fe := (*pages.FileError)(nil); errors.As(err, &fe) {
			what, hint = "writing the Pages artifact", "; check that --artifact names a file in a folder that is writable and has room, or choose another --artifact"
		}
		if uerr := pending.Undo(); uerr != nil {
			return fmt.Errorf("%s: %w; then %w", what, err, uerr)
		}
		return fmt.Errorf("%s: %w; the previous site in %s and the previous artifact are left as they were%s", what, err, cfg.Out, hint)
	}
	if err := pending.Keep(); err != nil {
		return fmt.Errorf("writing the site to %s: %w", cfg.Out, err)
	}
	res.ArtifactPath = cfg.Artifact
	rep.Logf("wrote %s: %d files, %d folders, %d bytes", cfg.Artifact, stats.Files, stats.Folders, stats.Bytes)
	return nil
}
