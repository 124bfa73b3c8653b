// Package branch publishes a bundle by committing it to a branch of a GitHub
// repository (default "pins") through the Git Data API, so that
// `nix run github:OWNER/REPO/pins#NAME` serves it.
//
// The branch holds exactly the given files plus a marker file; each publish
// is one normal commit on top of the head the files were made after (its
// Base; history is never rewritten, no force push), made with a
// compare-and-swap ref update. When another publish moved the branch in
// between, nothing is written and ErrMoved tells the caller to make its files
// again: retrying them on the new head would drop what that publish added.
// Git object ids are computed locally, so an unchanged bundle costs two reads
// and no write. The repository's default branch is never written.
package branch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/kwbauson/create-pin-refs/pkg/ghrepo"
	"github.com/kwbauson/create-pin-refs/pkg/retry"
)

const (
	// DefaultBranch is the branch published to when Options.Branch is empty.
	DefaultBranch = "pins"
	// DefaultCommitMessage is the subject of each commit.
	DefaultCommitMessage = "Publish pins"

	// BotName and BotEmail are the identity GitHub Actions commits under.
	BotName  = "github-actions[bot]"
	BotEmail = "41898282+github-actions[bot]@users.noreply.github.com"
)

// File is one file of the published tree.
type File struct {
	Path       string // slash-separated, relative, e.g. "data/shards/0.json"
	Data       []byte
	Executable bool // mode 100755 instead of 100644
}

// Identity is a commit author or committer.
type Identity struct {
	Name, Email string
}

// Options says where and how to publish.
type Options struct {
	Owner, Repo   string
	Branch        string // default DefaultBranch
	CommitMessage string // default DefaultCommitMessage
	// Author and Committer name who made the commit. Zero: none is sent,
	// and the commit is the token's (github-actions[bot] for an Actions
	// run's GITHUB_TOKEN), which GitHub then signs: a Verified commit, as a
	// branch rule requiring signed commits accepts. GitHub signs no commit
	// that names an author or a committer ("Signature verification for
	// bots").
	Author    Identity
	Committer Identity // default Author
	// Force publishes on top of an existing branch that lacks the marker
	// file (or whose marker is not this tool's). It still adds a normal
	// commit: nothing is ever discarded. It never allows the default branch.
	Force bool
	// Retry is how failed requests are retried (a lost race is ErrMoved,
	// never retried here); its OnRetry hears of each retry. The zero value
	// is retry.Default().
	Retry retry.Policy
	// Base is the head the files were made after (ReadBase), committed on
	// top of without reading the ref again. The zero value takes the head
	// first read: for files made just now that depend on no branch content.
	Base Base
	// ManyFilesIn names a top folder which, where the head holds it, holds
	// so many small files that listing the whole tree costs more than it
	// saves (the one-name bundles). Without it, Base.ReadFile lists the
	// whole tree beside reading its file, and Publish names by id what
	// that listing holds. "": never.
	ManyFilesIn string
}

// Result tells what a publish did.
type Result struct {
	CommitSHA string // the branch head after publishing
	TreeSHA   string // the tree published
	Changed   bool   // false: the branch already held these files
	Created   bool   // the branch was created by this publish
	FlakeRef  string // e.g. github:OWNER/REPO/pins
	APICalls  int    // GitHub API requests made
	Attempts  int    // attempts made, 1 unless something was retried
	// Verified: GitHub signed the commit made (Changed only).
	Verified bool
}

func (o Options) withDefaults() (Options, error) {
	if o.Owner == "" || o.Repo == "" {
		return o, errors.New("owner and repository must be set")
	}
	if _, _, err := ghrepo.Split(o.Owner + "/" + o.Repo); err != nil {
		// go-github puts them into the URL path as they are.
		return o, fmt.Errorf("invalid repository: %w", err)
	}
	if o.Branch == "" {
		o.Branch = DefaultBranch
	}
	if err := ghrepo.CheckBranch(o.Branch); err != nil {
		return o, err
	}
	if strings.TrimSpace(o.CommitMessage) == "" {
		o.CommitMessage = DefaultCommitMessage
	}
	if o.Committer == (Identity{}) {
		o.Committer = o.Author
	}
	for _, id := range []Identity{o.Author, o.Committer} {
		if id == (Identity{}) {
			continue // the token's
		}
		if id.Name == "" || id.Email == "" || strings.ContainsAny(id.Name+id.Email, "<>\n") {
			return o, fmt.Errorf("invalid commit identity %q <%s>", id.Name, id.Email)
		}
	}
	if err := o.Retry.Validate(); err != nil {
		return o, err
	}
	o.Retry = o.Retry.WithDefaults()
	return o, nil
}

// Publish makes the branch opts.Branch of opts.Owner/opts.Repo hold exactly
// files plus the marker file, committing only if that changes its tree, and
// only on top of opts.Base: a branch another publish moved since is a
// *MovedError (ErrMoved), and nothing is written to it.
func Publish(ctx context.Context, gh *github.Client, opts Options, files []File) (*Result, error) {
	if gh == nil {
		return nil, errors.New("branch: nil GitHub client")
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("branch: %w", err)
	}
	if err := checkFiles(files); err != nil {
		return nil, fmt.Errorf("branch: %w", err)
	}
	all := append(slices.Clone(files), File{Path: MarkerPath, Data: MarkerContent()})
	slices.SortFunc(all, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	p := &publisher{
		gh:      gh,
		opts:    opts,
		ref:     "refs/heads/" + opts.Branch,
		files:   all,
		want:    treeID(all),
		commits: map[string]*github.Commit{},
		managed: map[string]bool{},
		base:    opts.Base,
		// The default branch does not depend on the head: kept if the
		// head moves.
		defaultBranch: opts.Base.defaultBranch,
		h2:            opts.Base.h2,
	}
	p.res.APICalls = opts.Base.calls
	if h := opts.Base.head; h != nil {
		p.commits[opts.Base.Commit] = h
	}
	// Blob ids listed by ReadFile, of the base: reused only on top of it,
	// since a moved head is not committed on.
	p.known = opts.Base.known
	p.knownRead = !worthListing(all)
	if opts.Base.all != nil {
		p.known, p.knownRead = opts.Base.all, true
	}
	p.res.TreeSHA = p.want
	p.res.FlakeRef = FlakeRef(gh, opts)
	// Errors name the request that failed; the caller says which branch.
	n, err := opts.Retry.Do(ctx, "publishing to "+p.ref, p.attempt)
	p.res.Attempts = n
	if err != nil {
		return nil, err
	}
	return &p.res, nil
}

// publisher holds one publish's state across attempts.
type publisher struct {
	gh    *github.Client
	opts  Options
	ref   string // refs/heads/BRANCH
	files []File // sorted, marker included
	want  string // tree id of files
	res   Result

	treeMade      bool                      // the tree exists on GitHub
	knownRead     bool                      // known was read (it stays nil if truncated), or is not worth reading
	known         map[string]bool           // blob ids in the head's tree, reused by makeTree
	commits       map[string]*github.Commit // by sha; commits never change
	managed       map[string]bool           // heads found to hold our marker
	defaultBranch string                    // the repository's, once read
	h2            bool                      // the last head came over HTTP/2: requests may go in parallel
	base          Base                      // the only head committed on top of
	baseUsed      bool                      // the first attempt took base as the head
	// ours is the commit made on top of the base: recognised if a
	// failed-looking update landed.
	ours string
}

// attempt takes the base as the head (the first time) or reads the head and,
// unless it already holds the tree, commits on top of it (or creates the
// branch). A head moved by another publish comes back as *MovedError,
// failures worth retrying as retry.Again or AfterWait.
func (p *publisher) attempt(ctx context.Context) error {
	head := p.base.Commit
	if !p.base.set || p.baseUsed {
		var err error
		if head, err = p.head(ctx); err != nil {
			return err
		}
	}
	p.baseUsed = true
	if !p.base.set {
		p.base = Base{Commit: head, set: true}
	}
	switch {
	case head != "" && head == p.ours:
		// An update that looked failed (a 5xx, a lost answer) had landed.
		p.done(head, true, p.base.Commit == "")
		return nil
	case head != p.base.Commit:
		return p.moved(ctx, head)
	}
	if head != "" {
		c, held, err := p.holds(ctx, head)
		if held || err != nil {
			return err
		}
		// Whatever its marker says, the default branch is never written.
		if err := p.checkNotDefault(ctx); err != nil {
			return err
		}
		if err := p.checkManaged(ctx, head, c); err != nil {
			return err
		}
		if !p.treeMade && !p.knownRead {
			known, err := p.knownBlobs(ctx, c.GetTree().GetSHA())
			if err != nil {
				return err
			}
			if known != nil { // else cut short: keep what the base listed
				p.known = known
			}
			p.knownRead = true
		}
	}
	if err := p.makeTree(ctx); err != nil {
		return err
	}
	if p.ours == "" {
		sha, err := p.makeCommit(ctx, head)
		if err != nil {
			return err
		}
		p.ours = sha
	}
	if err := p.writeRef(ctx, head); err != nil {
		return err
	}
	if p.res.CommitSHA == "" { // else settle found another head holding the tree
		p.done(p.ours, true, head == "")
	}
	return nil
}

func (p *publisher) done(head string, changed, created bool) {
	p.res.CommitSHA, p.res.Changed, p.res.Created = head, changed, created
}
