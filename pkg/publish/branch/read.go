package branch

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/google/go-github/v60/github"
)

// Why ReadFile gives no content. Test for them with errors.Is.
var (
	// ErrNoFile is a file the base does not hold, or no base at all (the
	// branch did not exist).
	ErrNoFile = errors.New("not on the branch")
	// ErrFileTooLarge is a file beyond the limit asked for.
	ErrFileTooLarge = errors.New("larger than the limit")
)

// ReadFile returns the file name at the top of b's tree, if it is at most
// limit bytes, as a publish reads what the previous one left (its pins.json).
// It reads b's commit and the top of its tree at once, then the file's blob;
// b keeps the commit and the blob ids listed for Publish, which reads the
// commit anyway and names by id the content the branch already holds, so
// reading a file costs a publish two requests, one round trip of them. The
// calls count in Result.APICalls; failures worth it are retried by
// opts.Retry (opts.Base is not used: b is the base).
func (b *Base) ReadFile(ctx context.Context, gh *github.Client, opts Options, name string, limit int64) ([]byte, error) {
	if gh == nil {
		return nil, errors.New("branch: nil GitHub client")
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("branch: %w", err)
	}
	switch {
	case !b.set:
		return nil, errors.New("branch: ReadFile of a base not read")
	case b.Commit == "":
		return nil, fmt.Errorf("%s: %w (branch %s does not exist yet)", name, ErrNoFile, opts.Branch)
	}
	if b.top == nil {
		if err := b.readTop(ctx, gh, opts); err != nil {
			return nil, err
		}
	}
	e := b.top[name]
	switch {
	case e == nil:
		return nil, fmt.Errorf("%s: %w at %s", name, ErrNoFile, short(b.Commit))
	case e.GetType() != "blob":
		return nil, fmt.Errorf("%s: %w at %s as a file: it is a %s", name, ErrNoFile, short(b.Commit), e.GetType())
	case int64(e.GetSize()) > limit:
		return nil, fmt.Errorf("%s: %w of %d bytes (%d)", name, ErrFileTooLarge, limit, e.GetSize())
	}
	p, pl := b.reader(gh, opts), b.reader(gh, opts)
	var data []byte
	read := func() {
		_, err = opts.Retry.Do(ctx, "reading "+name+" of "+short(b.Commit), func(ctx context.Context) (err error) {
			data, err = p.readBlob(ctx, e.GetSHA(), int(limit))
			return err
		})
	}
	if top := b.top[opts.ManyFilesIn]; opts.ManyFilesIn == "" || top != nil && top.GetType() == "tree" || b.all != nil {
		read()
	} else {
		together(b.h2, read, func() {
			// Failures are left for Publish, which lists the tree itself
			// if it needs to.
			b.all, _ = pl.knownBlobs(ctx, b.head.GetTree().GetSHA())
		})
	}
	b.calls += p.res.APICalls + pl.res.APICalls
	switch {
	case err != nil:
		return nil, err
	case data == nil:
		return nil, fmt.Errorf("%s: %w of %d bytes", name, ErrFileTooLarge, limit)
	case blobID(data) != e.GetSHA():
		return nil, fmt.Errorf("%s: get blob %s: the content GitHub sent is another blob's", name, short(e.GetSHA()))
	}
	return data, nil
}

// readTop reads b's commit and the top of its tree, side by side (over HTTP/2): GitHub
// lists the tree of a commit named by its id, so the listing need not wait
// for the commit. (Its answer's sha may then be the commit's: only the
// entries are taken from it.) The repository's default branch, which a
// publish on top of b must know, comes in the same round trip; its
// failure is left for Publish to meet and report.
func (b *Base) readTop(ctx context.Context, gh *github.Client, opts Options) error {
	pc, pt, pr := b.reader(gh, opts), b.reader(gh, opts), b.reader(gh, opts)
	var (
		commit     *github.Commit
		tree       *github.Tree
		errC, errT error
		at         = short(b.Commit)
	)
	together(b.h2, func() {
		_, errC = opts.Retry.Do(ctx, "reading commit "+at, func(ctx context.Context) (err error) {
			commit, err = pc.commit(ctx, b.Commit)
			return err
		})
	}, func() {
		_, errT = opts.Retry.Do(ctx, "listing the tree of "+at, func(ctx context.Context) error {
			pt.res.APICalls++
			t, resp, err := gh.Git.GetTree(ctx, opts.Owner, opts.Repo, b.Commit, false)
			if err != nil {
				return pt.fail("get tree of commit "+at, false, resp, err)
			}
			tree = t
			return nil
		})
	}, func() {
		_, _ = opts.Retry.Do(ctx, "reading the repository", pr.readDefault)
	})
	b.calls += pc.res.APICalls + pt.res.APICalls + pr.res.APICalls
	b.defaultBranch = pr.defaultBranch
	if err := cmp.Or(errC, errT); err != nil {
		return err
	}
	b.head = commit
	b.top = make(map[string]*github.TreeEntry, len(tree.Entries))
	b.known = map[string]bool{}
	for _, e := range tree.Entries {
		b.top[e.GetPath()] = e
		if e.GetType() == "blob" && e.GetSHA() != "" {
			b.known[e.GetSHA()] = true
		}
	}
	return nil
}

// reader is a publisher that only reads, for the calls of ReadFile.
func (b *Base) reader(gh *github.Client, opts Options) *publisher {
	return &publisher{gh: gh, opts: opts, ref: "refs/heads/" + opts.Branch, commits: map[string]*github.Commit{}}
}
