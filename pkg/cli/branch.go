package cli

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-github/v60/github"
	"github.com/kwbauson/create-pin-refs/pkg/bundle"
	"github.com/kwbauson/create-pin-refs/pkg/config"
	"github.com/kwbauson/create-pin-refs/pkg/kept"
	"github.com/kwbauson/create-pin-refs/pkg/publish/branch"
	"github.com/kwbauson/create-pin-refs/pkg/retry"
	"github.com/kwbauson/create-pin-refs/pkg/site"
)

// branchPublisher commits the bundle to a branch through the GitHub API.
type branchPublisher struct {
	gh         *github.Client
	opts       branch.Options // its Base is read before the pins
	message    string         // --commit-message; "" says how many pins of which cache
	flakeRef   string
	archiveURL string // the branch as a tarball, as GitHub serves it
	rep        reporter
	spent      int // API calls of earlier rounds
	// unpublished are the immutable bundles that earlier rounds wrote to
	// the site: the site must not serve them as earlier publishes'.
	unpublished []string
}

// branchRounds bounds how many times a run reads the pins and publishes
// while other publishes move the branch after it read its head.
const branchRounds = 5

func newBranchPublisher(cfg *config.Config, env Env, rep reporter) (*branchPublisher, error) {
	gh, err := branch.NewClient(env.HTTPClient, cfg.GitHubAPIURL, cfg.GitHubToken)
	if err != nil {
		return nil, fmt.Errorf("%w: --github-api-url: %w", config.ErrUsage, err)
	}
	owner, repo, _ := strings.Cut(cfg.Repo, "/")
	author := branch.Identity{Name: cfg.AuthorName, Email: cfg.AuthorEmail}
	opts := branch.Options{
		Owner:     owner,
		Repo:      repo,
		Branch:    cfg.Branch,
		Author:    author,
		Committer: author,
		Force:     cfg.ForceBranch,
		Retry:     retryPolicy(env, rep),
		// The one-name bundles: thousands of tiny files.
		ManyFilesIn: bundle.OneDir,
	}
	return &branchPublisher{
		gh:         gh,
		opts:       opts,
		message:    cfg.CommitMessage,
		flakeRef:   branch.FlakeRef(gh, opts),
		archiveURL: archiveURL(gh, opts),
		rep:        rep,
	}, nil
}

// readBase reads the branch's head before the pins are read, once: the
// bundle is committed on top of that head only, so that it never replaces
// a commit made from a later reading of the pins.
func (p *branchPublisher) readBase(ctx context.Context) error {
	if p.opts.Base.IsSet() {
		return nil
	}
	base, err := branch.ReadBase(ctx, p.gh, p.opts)
	if err != nil {
		return fmt.Errorf("reading branch %s of %s/%s: %w", p.opts.Branch, p.opts.Owner, p.opts.Repo, err)
	}
	at := "does not exist yet"
	if base.Commit != "" {
		at = "is at " + shortSHA(base.Commit)
	}
	p.rep.Logf("branch %s %s; the pins read now are published on top of it", p.opts.Branch, at)
	p.opts.Base = base
	return nil
}

// again decides, after round's err, whether to read the pins again: another
// publish moved the branch after this round read its head. It waits as the
// retry policy does between attempts, and gives up after branchRounds.
func (p *branchPublisher) again(ctx context.Context, env Env, round int, res *Result, err error) (bool, error) {
	var moved *branch.MovedError
	if !errors.As(err, &moved) {
		return false, err
	}
	p.spent += moved.APICalls
	if res != nil && res.bundlePath != "" {
		p.unpublished = append(p.unpublished, res.bundlePath)
	}
	if round >= branchRounds {
		return false, fmt.Errorf("%w; other publishes moved it in each of %d rounds of reading the pins: run this job again once they are done, or publish from one job that needs the others", err, round)
	}
	pol := env.Retry.WithDefaults()
	wait := retry.Backoff(round, pol.BaseDelay, pol.MaxDelay)
	p.rep.Logf("notice: branch %s of %s/%s moved from %s to %s after this run read it (another publish landed): reading the pins again in %s (round %d of %d)",
		p.opts.Branch, p.opts.Owner, p.opts.Repo, orNone(moved.Base), orNone(moved.Head), retry.Round(wait), round+1, branchRounds)
	if err := pol.Sleep(ctx, wait); err != nil {
		return false, fmt.Errorf("waiting to read the pins again: %w", err)
	}
	p.opts.Base = moved.Next()
	return true, nil
}

// unpublishedBundles are the site's bundles of earlier rounds (nil p: none).
func (p *branchPublisher) unpublishedBundles() []string {
	if p == nil {
		return nil
	}
	return p.unpublished
}

// orNone is a commit for a log line, "no branch" when there is none.
func orNone(sha string) string {
	if sha == "" {
		return "no branch"
	}
	return shortSHA(sha)
}

// archiveURL is the branch's tarball on GitHub's web host: api.github.com
// serves github.com, and GitHub Enterprise serves both from one host.
func archiveURL(gh *github.Client, o branch.Options) string {
	web := "https://github.com"
	if u := gh.BaseURL; u != nil && u.Host != "api.github.com" {
		web = u.Scheme + "://" + strings.TrimPrefix(u.Host, "api.")
	}
	return web + "/" + o.Owner + "/" + o.Repo + "/archive/refs/heads/" + o.Branch + ".tar.gz"
}

// BranchMaxOneNames is where --per-pin-urls auto stops adding one-name
// bundles to a branch: each name adds four files and a folder to the tree
// and about 0.8 KB to the create-tree request (the shared Nix files go up
// once, as blobs). Measured with test/fakegithub (BenchmarkBranchPerPin):
// 7,500 names make a 7.8 MB request and a tree of 37,589 entries, against
// 2.0 MB and 88 without; 5,000 names keep it near 5 MB.
const BranchMaxOneNames = 5000

func (p *branchPublisher) earlier(*config.Config, Env, reporter, reporter) earlierAt {
	return earlierAt{head: branchSource{p}}
}

func (p *branchPublisher) served(_ *config.Config, res *Result) error {
	res.FlakeRef = p.flakeRef
	return nil
}

func (p *branchPublisher) title() string {
	return "Publishing to branch " + p.opts.Branch + " of " + p.opts.Owner + "/" + p.opts.Repo
}

// publish commits the bundle, with the one-name bundles unpacked per
// --per-pin-urls, on top of the head readBase read.
func (p *branchPublisher) publish(ctx context.Context, cfg *config.Config, r rendered) error {
	b, res, mode := r.bundle, r.res, cfg.PerPinURLs
	files := make([]branch.File, 0, len(b.Files)+1)
	for _, f := range b.Files {
		files = append(files, branch.File{Path: f.Path, Data: f.Data, Executable: f.Mode&0o111 != 0})
	}
	manifest, err := branchManifest(res)
	if err != nil {
		return err
	}
	files = append(files, branch.File{Path: site.Manifest, Data: manifest})
	switch {
	case branchOnes(mode, res.ones.Len()):
		// Unpacked, so that FLAKEREF?dir=p/NAME is a flake.
		for i := range res.ones.Len() {
			o := res.ones.One(i)
			for _, f := range o.Bundle.Files {
				files = append(files, branch.File{Path: bundle.OneDir + "/" + o.Segment + "/" + f.Path, Data: f.Data})
			}
		}
		res.PerPin.Built, res.PerPin.Names = true, res.ones.Len()
	case mode == config.PerPinAuto && res.ones.Len() > 0:
		p.rep.Logf("notice: per-pin flakes (%s?dir=%s/NAME) left out: the branch would hold %d names, over the %d that keep its tree small; --per-pin-urls on adds them anyway",
			p.flakeRef, bundle.OneDir, res.ones.Len(), BranchMaxOneNames)
	}
	opts := p.opts
	opts.CommitMessage = cmp.Or(p.message, fmt.Sprintf("Publish %s of %s", count(len(res.Set.Pins), "pin"), res.Meta.Cache))
	out, err := branch.Publish(ctx, p.gh, opts, files)
	if err != nil {
		return fmt.Errorf("publishing to branch %s of %s/%s: %w", p.opts.Branch, p.opts.Owner, p.opts.Repo, err)
	}
	res.FlakeRef, res.CommitSHA, res.Changed, res.APICalls = out.FlakeRef, out.CommitSHA, out.Changed, p.spent+out.APICalls
	if res.PerPin.Built {
		res.PerPinURL = PerPinFlakeRef(out.FlakeRef)
	}
	if out.Changed {
		signed := "not signed: --commit-author names who made it"
		if out.Verified {
			signed = "signed by GitHub: Verified"
		}
		p.rep.Logf("committed %s to %s (%d API calls; %s)", shortSHA(out.CommitSHA), p.opts.Branch, res.APICalls, signed)
	} else {
		p.rep.Logf("branch %s already holds these pins: nothing written (%d API calls)", p.opts.Branch, res.APICalls)
	}
	return nil
}

// branchManifest is the pins.json at the branch's root: the site's, with
// the pins and their verdicts, which the next publish reuses, less the
// immutable bundles, which the branch does not serve (a lock pins its
// commit). What --out kept of earlier publishes thus never makes a commit.
func branchManifest(res *Result) ([]byte, error) {
	var buf bytes.Buffer
	if err := site.WriteManifest(&buf, site.NewManifest(res.Set, res.Meta)); err != nil {
		return nil, fmt.Errorf("rendering the branch's %s: %w", site.Manifest, err)
	}
	return buf.Bytes(), nil
}

// branchOnes reports whether a branch gets the one-name bundles of n names.
func branchOnes(mode string, n int) bool {
	return n > 0 && (mode == config.PerPinOn || mode == config.PerPinAuto && n <= BranchMaxOneNames)
}

// PerPinFlakeRef is the base of the one-name flakes in the branch flakeRef:
// FLAKEREF?dir=p/ (or &dir= after a query), to which a segment is appended.
func PerPinFlakeRef(flakeRef string) string {
	sep := "?"
	if strings.Contains(flakeRef, "?") {
		sep = "&"
	}
	return flakeRef + sep + "dir=" + bundle.OneDir + "/"
}

// branchSource reads the files of the branch's head that the round
// publishes on top of (read before the pins): the previous publish's
// pins.json, for its verdicts.
type branchSource struct{ p *branchPublisher }

func (s branchSource) Get(ctx context.Context, name string, limit int64) ([]byte, error) {
	p := s.p
	data, err := p.opts.Base.ReadFile(ctx, p.gh, p.opts, name, limit)
	switch {
	case errors.Is(err, branch.ErrNoFile):
		return nil, alsoIs{err, kept.ErrNotFound}
	case errors.Is(err, branch.ErrFileTooLarge):
		return nil, alsoIs{err, kept.ErrTooLarge}
	}
	return data, err
}

func (s branchSource) String() string {
	return "branch " + s.p.opts.Branch + " of " + s.p.opts.Owner + "/" + s.p.opts.Repo
}

// alsoIs is error, which errors.Is also takes for target: a branch's
// error as what a kept.Source says.
type alsoIs struct {
	error
	target error
}

func (e alsoIs) Unwrap() []error { return []error{e.error, e.target} }
