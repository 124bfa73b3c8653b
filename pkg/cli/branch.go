package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-github/v60/github"
	"github.com/kwbauson/create-pin-refs/pkg/bundle"
	"github.com/kwbauson/create-pin-refs/pkg/config"
	"github.com/kwbauson/create-pin-refs/pkg/pins"
	"github.com/kwbauson/create-pin-refs/pkg/publish/branch"
)

// branchPublisher commits the bundle to a branch through the GitHub API.
type branchPublisher struct {
	gh         *github.Client
	opts       branch.Options
	flakeRef   string
	archiveURL string // the branch as a tarball, as GitHub serves it
	rep        reporter
}

func newBranchPublisher(cfg *config.Config, env Env, rep reporter, set *pins.Set, meta bundle.Meta) (*branchPublisher, error) {
	gh, err := branch.NewClient(env.HTTPClient, cfg.GitHubAPIURL, cfg.GitHubToken)
	if err != nil {
		return nil, fmt.Errorf("%w: --github-api-url: %w", config.ErrUsage, err)
	}
	owner, repo, _ := strings.Cut(cfg.Repo, "/")
	author := branch.Identity{Name: cfg.AuthorName, Email: cfg.AuthorEmail}
	msg := cfg.CommitMessage
	if msg == "" {
		msg = fmt.Sprintf("Publish %s of %s", count(len(set.Pins), "pin"), meta.Cache)
	}
	opts := branch.Options{
		Owner:         owner,
		Repo:          repo,
		Branch:        cfg.Branch,
		CommitMessage: msg,
		Author:        author,
		Committer:     author,
		Force:         cfg.ForceBranch,
		Retry:         retryPolicy(env, rep),
	}
	return &branchPublisher{
		gh:         gh,
		opts:       opts,
		flakeRef:   branch.FlakeRef(gh, opts),
		archiveURL: archiveURL(gh, opts),
		rep:        rep,
	}, nil
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

func (p *branchPublisher) publish(ctx context.Context, b *bundle.Bundle, res *Result, mode string) error {
	files := make([]branch.File, 0, len(b.Files))
	for _, f := range b.Files {
		files = append(files, branch.File{Path: f.Path, Data: f.Data, Executable: f.Mode&0o111 != 0})
	}
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
	out, err := branch.Publish(ctx, p.gh, p.opts, files)
	if err != nil {
		return fmt.Errorf("publishing to branch %s of %s/%s: %w", p.opts.Branch, p.opts.Owner, p.opts.Repo, err)
	}
	res.FlakeRef, res.CommitSHA, res.Changed, res.APICalls = out.FlakeRef, out.CommitSHA, out.Changed, out.APICalls
	if res.PerPin.Built {
		res.PerPinURL = PerPinFlakeRef(out.FlakeRef)
	}
	if out.Changed {
		p.rep.Logf("committed %s to %s (%d API calls)", shortSHA(out.CommitSHA), p.opts.Branch, out.APICalls)
	} else {
		p.rep.Logf("branch %s already holds these pins: nothing written (%d API calls)", p.opts.Branch, out.APICalls)
	}
	return nil
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
