// Package branch publishes a bundle by committing it to a branch of a GitHub
// repository (default "pins") through the Git Data API, so that
// `nix run github:OWNER/REPO/pins#NAME` serves it.
//
// The branch holds exactly the given files plus a marker file; each publish
// is one normal commit on top of the previous head (history is never
// rewritten, no force push), made with a compare-and-swap ref update and
// retried when another publisher got there first. Git object ids are computed
// locally, so an unchanged bundle costs two reads and no write.
package branch

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/go-github/v60/github"
	"github.com/kwbauson/create-pin-refs/pkg/ghrepo"

	"github.com/kwbauson/create-pin-refs/pkg/retry"
)

const (
	// DefaultBranch is the branch published to when Options.Branch is empty.
	DefaultBranch = "pins"
	// DefaultMaxAttempts bounds how often a publish starts over after a
	// conflict or a transient failure.
	DefaultMaxAttempts = 8
	// DefaultCommitMessage is the subject of each commit.
	DefaultCommitMessage = "Publish pins"

	// MarkerPath is the file that marks a branch as managed by this tool;
	// without it an existing branch is left alone unless forced.
	MarkerPath = ".create-pin-refs"
	// FormatVersion is the version of the branch layout, written into the
	// marker so a later version can tell what it is replacing.
	FormatVersion = 1

	// BotName and BotEmail are the identity GitHub Actions commits under.
	BotName  = "github-actions[bot]"
	BotEmail = "41898282+github-actions[bot]@users.noreply.github.com"

	// treeTrailer is written into each commit message with the id of the
	// commit's tree. A head whose tree is the one its trailer names was made
	// by this package, so it holds the marker: that saves a GetTree (and
	// keeps an update within five calls) without trusting the message alone.
	treeTrailer = "Create-Pin-Refs-Tree"

	baseBackoff = 250 * time.Millisecond
	maxBackoff  = 8 * time.Second
	// maxServerWait caps a wait asked for by GitHub (Retry-After, rate
	// limit reset); a longer one fails rather than stalling a workflow.
	maxServerWait = 2 * time.Minute
)

// MarkerContent is what the marker file holds.
func MarkerContent() []byte {
	return fmt.Appendf(nil, "This branch is managed by create-pin-refs; it is rewritten on every publish.\n"+
		"Commits made to it by hand are replaced by the next publish.\n"+
		"format: %d\n", FormatVersion)
}

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
	Branch        string   // default DefaultBranch
	CommitMessage string   // default DefaultCommitMessage
	Author        Identity // default github-actions[bot]
	Committer     Identity // default Author
	// Force publishes on top of an existing branch that lacks the marker
	// file. It still adds a normal commit: nothing is ever discarded.
	Force bool
	// MaxAttempts bounds the attempts (default DefaultMaxAttempts).
	MaxAttempts int
	// Sleep waits between attempts; nil waits on a timer, honouring ctx.
	// Tests pass a function that returns at once.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logf, if set, is told about retries.
	Logf func(format string, args ...any)
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
	if o.Author == (Identity{}) {
		o.Author = Identity{Name: BotName, Email: BotEmail}
	}
	if o.Committer == (Identity{}) {
		o.Committer = o.Author
	}
	for _, id := range []Identity{o.Author, o.Committer} {
		if id.Name == "" || id.Email == "" || strings.ContainsAny(id.Name+id.Email, "<>\n") {
			return o, fmt.Errorf("invalid commit identity %q <%s>", id.Name, id.Email)
		}
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.Sleep == nil {
		o.Sleep = retry.Sleep
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	return o, nil
}

// Publish makes the branch opts.Branch of opts.Owner/opts.Repo hold exactly
// files plus the marker file, committing only if that changes its tree.
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
	}
	p.res.TreeSHA = p.want
	p.res.FlakeRef = FlakeRef(gh, opts)
	// Errors name the request that failed; the caller says which branch.
	return p.run(ctx)
}

// publisher holds one publish's state across attempts.
type publisher struct {
	gh    *github.Client
	opts  Options
	ref   string // refs/heads/BRANCH
	files []File // sorted, marker included
	want  string // tree id of files
	res   Result

	treeMade bool                      // the tree exists on GitHub
	commits  map[string]*github.Commit // by sha; commits never change
	managed  map[string]bool           // heads checked for the marker
	// ours is the last commit made, and parent its parent: reused when the
	// head has not moved, and recognised if a failed-looking update landed.
	ours, parent string
}

// retryable marks an error worth another attempt, after at least `after`.
type retryable struct {
	err   error
	after time.Duration
}

func (r *retryable) Error() string { return r.err.Error() }
func (r *retryable) Unwrap() error { return r.err }

func (p *publisher) run(ctx context.Context) (*Result, error) {
	for attempt := 1; ; attempt++ {
		p.res.Attempts = attempt
		err := p.attempt(ctx)
		if err == nil {
			return &p.res, nil
		}
		var r *retryable
		if !errors.As(err, &r) {
			return nil, err
		}
		if attempt >= p.opts.MaxAttempts {
			return nil, fmt.Errorf("%w (%d): last: %w", ErrTooManyAttempts, attempt, r.err)
		}
		wait := backoff(attempt, r.after)
		p.opts.Logf("branch: attempt %d of %d failed (%v); retrying in %v", attempt, p.opts.MaxAttempts, r.err, wait.Round(time.Millisecond))
		if err := p.opts.Sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("waiting to retry: %w (after: %w)", err, r.err)
		}
	}
}

// attempt reads the head and, unless it already holds the tree, commits on
// top of it (or creates the branch). Conflicts come back as *retryable.
func (p *publisher) attempt(ctx context.Context) error {
	head, err := p.head(ctx)
	if err != nil {
		return err
	}
	if head != "" {
		if head == p.ours {
			// An update that looked failed (a 5xx, a lost answer) had landed.
			p.done(head, true)
			p.res.Created = p.parent == ""
			return nil
		}
		c, err := p.commit(ctx, head)
		if err != nil {
			return err
		}
		if c.GetTree().GetSHA() == p.want {
			p.done(head, false)
			return nil
		}
		if err := p.checkManaged(ctx, head, c); err != nil {
			return err
		}
	}
	if err := p.makeTree(ctx); err != nil {
		return err
	}
	if p.ours == "" || p.parent != head {
		sha, err := p.makeCommit(ctx, head)
		if err != nil {
			return err
		}
		p.ours, p.parent = sha, head
	}
	if head == "" {
		err = p.createRef(ctx)
	} else {
		err = p.updateRef(ctx)
	}
	if err != nil {
		return err
	}
	p.done(p.ours, true)
	p.res.Created = head == ""
	return nil
}

func (p *publisher) done(head string, changed bool) {
	p.res.CommitSHA = head
	p.res.Changed = changed
}

// head returns the branch's commit, or "" if the branch does not exist.
func (p *publisher) head(ctx context.Context) (string, error) {
	p.res.APICalls++
	ref, resp, err := p.gh.Git.GetRef(ctx, p.opts.Owner, p.opts.Repo, p.ref)
	if status(resp) == http.StatusNotFound {
		// No branch, or no repository the token can see; a write will tell.
		return "", nil
	}
	if err != nil {
		return "", p.fail("get "+p.ref, false, resp, err)
	}
	if ref.GetObject().GetType() != "commit" || ref.GetObject().GetSHA() == "" {
		return "", fmt.Errorf("get %s: it points to a %s, not a commit", p.ref, ref.GetObject().GetType())
	}
	return ref.GetObject().GetSHA(), nil
}

func (p *publisher) commit(ctx context.Context, sha string) (*github.Commit, error) {
	if c := p.commits[sha]; c != nil {
		return c, nil
	}
	p.res.APICalls++
	c, resp, err := p.gh.Git.GetCommit(ctx, p.opts.Owner, p.opts.Repo, sha)
	if err != nil {
		if status(resp) == http.StatusNotFound {
			// The ref named it a moment ago: a replica lagging behind.
			return nil, &retryable{err: p.fail("get commit "+short(sha), false, resp, err)}
		}
		return nil, p.fail("get commit "+short(sha), false, resp, err)
	}
	if c.GetTree().GetSHA() == "" {
		return nil, fmt.Errorf("get commit %s: no tree in the answer", short(sha))
	}
	p.commits[sha] = c
	return c, nil
}

// checkManaged refuses to commit on top of a branch this tool did not make,
// unless forced. A head whose message names its own tree was made here; any
// other head needs its tree read to look for the marker.
func (p *publisher) checkManaged(ctx context.Context, head string, c *github.Commit) error {
	if p.managed[head] || trailerTree(c.GetMessage()) == c.GetTree().GetSHA() {
		return nil
	}
	if p.opts.Force {
		return p.checkNotDefault(ctx)
	}
	p.res.APICalls++
	tree, resp, err := p.gh.Git.GetTree(ctx, p.opts.Owner, p.opts.Repo, c.GetTree().GetSHA(), false)
	if err != nil {
		return p.fail("get tree "+short(c.GetTree().GetSHA()), false, resp, err)
	}
	for _, e := range tree.Entries {
		if e.GetPath() == MarkerPath && e.GetType() == "blob" {
			if p.managed == nil {
				p.managed = map[string]bool{}
			}
			p.managed[head] = true
			return nil
		}
	}
	return fmt.Errorf("%w: branch %q exists and its head %s has no %s file: pass --force-branch to publish on top of it anyway (a normal commit; nothing is lost), or choose another --branch",
		ErrForeignBranch, p.opts.Branch, short(head), MarkerPath)
}

// checkNotDefault refuses to force a publish onto the repository's default
// branch: the bundle replaces every file of the branch it lands on, which is
// fine for a side branch taken over on purpose, never for the main line.
func (p *publisher) checkNotDefault(ctx context.Context) error {
	p.res.APICalls++
	repo, resp, err := p.gh.Repositories.Get(ctx, p.opts.Owner, p.opts.Repo)
	if err != nil {
		return p.fail("get repository", false, resp, err)
	}
	if repo.GetDefaultBranch() == p.opts.Branch {
		return fmt.Errorf("%w: %q is the default branch of %s/%s and the bundle would replace every file on it, even with --force-branch; choose another --branch",
			ErrDefaultBranch, p.opts.Branch, p.opts.Owner, p.opts.Repo)
	}
	return nil
}

// trailerTree returns the tree id named by the message's trailer, if any.
func trailerTree(msg string) string {
	for _, line := range strings.Split(msg, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), treeTrailer+": "); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// makeTree creates the tree in one request, file contents inline. Content
// that is not UTF-8 cannot travel in JSON text, so it goes up as a base64
// blob first (a request each; bundles are text, so normally none).
func (p *publisher) makeTree(ctx context.Context) error {
	if p.treeMade {
		return nil
	}
	entries := make([]*github.TreeEntry, 0, len(p.files))
	for _, f := range p.files {
		mode := modeFile
		if f.Executable {
			mode = modeExecutable
		}
		e := &github.TreeEntry{Path: github.String(f.Path), Mode: github.String(mode), Type: github.String("blob")}
		if utf8.Valid(f.Data) {
			e.Content = github.String(string(f.Data))
		} else {
			sha, err := p.makeBlob(ctx, f)
			if err != nil {
				return err
			}
			e.SHA = github.String(sha)
		}
		entries = append(entries, e)
	}
	p.res.APICalls++
	tree, resp, err := p.gh.Git.CreateTree(ctx, p.opts.Owner, p.opts.Repo, "", entries)
	if err != nil {
		return p.fail("create tree", true, resp, err)
	}
	if got := tree.GetSHA(); got != p.want {
		return fmt.Errorf("create tree: %w: GitHub made %s, computed %s", ErrTreeMismatch, got, p.want)
	}
	p.treeMade = true
	return nil
}

func (p *publisher) makeBlob(ctx context.Context, f File) (string, error) {
	p.res.APICalls++
	blob, resp, err := p.gh.Git.CreateBlob(ctx, p.opts.Owner, p.opts.Repo, &github.Blob{
		Content:  github.String(base64.StdEncoding.EncodeToString(f.Data)),
		Encoding: github.String("base64"),
	})
	if err != nil {
		return "", p.fail("create blob for "+f.Path, true, resp, err)
	}
	if got, want := blob.GetSHA(), blobID(f.Data); got != want {
		return "", fmt.Errorf("create blob for %s: %w: GitHub made %s, computed %s", f.Path, ErrTreeMismatch, got, want)
	}
	return blob.GetSHA(), nil
}

func (p *publisher) makeCommit(ctx context.Context, parent string) (string, error) {
	c := &github.Commit{
		Message:   github.String(fmt.Sprintf("%s\n\n%s: %s\n", strings.TrimSpace(p.opts.CommitMessage), treeTrailer, p.want)),
		Tree:      &github.Tree{SHA: github.String(p.want)},
		Author:    &github.CommitAuthor{Name: github.String(p.opts.Author.Name), Email: github.String(p.opts.Author.Email)},
		Committer: &github.CommitAuthor{Name: github.String(p.opts.Committer.Name), Email: github.String(p.opts.Committer.Email)},
	}
	if parent != "" {
		c.Parents = []*github.Commit{{SHA: github.String(parent)}}
	}
	p.res.APICalls++
	made, resp, err := p.gh.Git.CreateCommit(ctx, p.opts.Owner, p.opts.Repo, c, nil)
	if err != nil {
		return "", p.fail("create commit", true, resp, err)
	}
	if made.GetSHA() == "" {
		return "", errors.New("create commit: no sha in the answer")
	}
	return made.GetSHA(), nil
}

func (p *publisher) createRef(ctx context.Context) error {
	p.res.APICalls++
	_, resp, err := p.gh.Git.CreateRef(ctx, p.opts.Owner, p.opts.Repo, &github.Reference{
		Ref:    github.String(p.ref),
		Object: &github.GitObject{SHA: github.String(p.ours)},
	})
	if err == nil {
		return nil
	}
	op := "create " + p.ref
	if status(resp) == http.StatusUnprocessableEntity && containsAny(message(err), "already exists", "Object does not exist") {
		// Created by someone else meanwhile (or our commit not yet
		// visible to the ref store): start over from the new head.
		return &retryable{err: p.fail(op, true, resp, err)}
	}
	return p.fail(op, true, resp, err)
}

func (p *publisher) updateRef(ctx context.Context) error {
	p.res.APICalls++
	_, resp, err := p.gh.Git.UpdateRef(ctx, p.opts.Owner, p.opts.Repo, &github.Reference{
		Ref:    github.String(p.ref),
		Object: &github.GitObject{SHA: github.String(p.ours)},
	}, false)
	if err == nil {
		return nil
	}
	op := "update " + p.ref
	if status(resp) == http.StatusUnprocessableEntity && containsAny(message(err), "fast forward", "Reference does not exist", "Object does not exist") {
		// Someone else moved (or deleted) the branch since we read it:
		// rebuild on the new head.
		return &retryable{err: p.fail(op, true, resp, err)}
	}
	return p.fail(op, true, resp, err)
}

// fail turns a go-github error into an *APIError with advice, wrapped in
// *retryable when trying again may help (5xx, 429, rate limits, network).
func (p *publisher) fail(op string, write bool, resp *github.Response, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", op, err)
	}
	repo := p.opts.Owner + "/" + p.opts.Repo
	e := &APIError{Op: op, StatusCode: status(resp), Message: message(err), Err: err}

	var rle *github.RateLimitError
	var abuse *github.AbuseRateLimitError
	switch {
	case errors.As(err, &rle):
		wait := time.Until(rle.Rate.Reset.Time)
		if wait <= maxServerWait {
			return &retryable{err: e, after: wait}
		}
		e.Fix = fmt.Sprintf("the API rate limit is used up until %s; try again later", rle.Rate.Reset.UTC().Format(time.RFC3339))
		return e
	case errors.As(err, &abuse):
		return &retryable{err: e, after: abuse.GetRetryAfter()}
	case e.StatusCode == 0:
		// No answer at all: a network failure, worth another try.
		return &retryable{err: e}
	case e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500:
		return &retryable{err: e, after: retryAfter(resp)}
	case e.StatusCode == http.StatusUnauthorized:
		e.kind = ErrBadCredentials
		e.Fix = "the token is missing, expired or wrong: check the token given to create-pin-refs (in Actions, usually ${{ github.token }})"
	case e.StatusCode == http.StatusConflict && strings.Contains(strings.ToLower(e.Message), "empty"):
		e.kind = ErrEmptyRepository
		e.Fix = fmt.Sprintf("the repository %s is empty; branch mode needs an initialised repository: push at least one commit (e.g. a README) to it first", repo)
	case (e.StatusCode == http.StatusForbidden || e.StatusCode == http.StatusNotFound) && write:
		e.kind = ErrPermission
		e.Fix = fmt.Sprintf("the token may not write to %s (or the repository does not exist): add `permissions: contents: write` to the job, or use a token with contents: write access", repo)
	case e.StatusCode == http.StatusForbidden:
		e.kind = ErrPermission
		e.Fix = fmt.Sprintf("the token may not read %s: use a token with access to it (the job needs `permissions: contents: write`)", repo)
	}
	return e
}

func status(resp *github.Response) int {
	if resp == nil || resp.Response == nil {
		return 0
	}
	return resp.StatusCode
}

// message is GitHub's message for err, with any field errors appended.
func message(err error) string {
	var er *github.ErrorResponse
	if !errors.As(err, &er) {
		var rle *github.RateLimitError
		if errors.As(err, &rle) {
			return rle.Message
		}
		var abuse *github.AbuseRateLimitError
		if errors.As(err, &abuse) {
			return abuse.Message
		}
		return ""
	}
	msg := er.Message
	for _, fe := range er.Errors {
		if fe.Message != "" {
			msg += "; " + fe.Message
		} else if fe.Field != "" {
			msg += fmt.Sprintf("; %s %s", fe.Field, fe.Code)
		}
	}
	return msg
}

func retryAfter(resp *github.Response) time.Duration {
	if resp == nil || resp.Response == nil {
		return 0
	}
	d, _ := retry.ParseAfter(resp.Header.Get("Retry-After"), time.Now())
	return d
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// backoff is the wait before attempt n+1: the shared backoff, so racing
// publishers spread out, and never less than the server asked.
func backoff(n int, atLeast time.Duration) time.Duration {
	return min(max(retry.Backoff(n, baseBackoff, maxBackoff), atLeast), maxServerWait)
}

// FlakeRef is how Nix names the branch: github:OWNER/REPO/BRANCH, with
// ?ref= for a branch holding "/" (Nix reads only one path segment as the
// ref) and ?host= for GitHub Enterprise.
func FlakeRef(gh *github.Client, o Options) string {
	ref := "github:" + o.Owner + "/" + o.Repo
	var query []string
	if strings.Contains(o.Branch, "/") {
		query = append(query, "ref="+strings.ReplaceAll(url.QueryEscape(o.Branch), "%2F", "/"))
	} else {
		ref += "/" + o.Branch
	}
	if gh.BaseURL != nil && gh.BaseURL.Host != "api.github.com" {
		query = append(query, "host="+strings.TrimPrefix(gh.BaseURL.Host, "api."))
	}
	if len(query) > 0 {
		ref += "?" + strings.Join(query, "&")
	}
	return ref
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
