package branch

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-github/v60/github"
)

// ErrMoved is a branch that another publish moved after the files were made:
// committing them would drop what that publish added. The caller makes its
// files again from what it reads now, and publishes them on
// MovedError.Next(). Test for it with errors.Is; it comes as *MovedError.
var ErrMoved = errors.New("branch moved since the files were made")

// Base is the branch head that the files were made after. Publish commits
// on top of it and of nothing else: a caller that reads the head (ReadBase)
// before reading what its files are made of, say a cache's pins, can never
// replace a commit made from a later reading with one made from an earlier.
type Base struct {
	Commit string // "" when the branch did not exist
	set    bool   // zero Base: Publish takes the head it first reads
	calls  int    // API calls made reading it (and its files), counted in Result.APICalls
	// defaultBranch is the repository's, read by ReadFile beside the
	// commit ("": not read).
	defaultBranch string
	// h2: the head came over HTTP/2, so requests may go in parallel.
	h2 bool
	// What ReadFile read of it, which Publish takes instead of reading
	// again: its commit, the top of its tree by name, and the ids of the
	// blobs listed there, which the publish may name instead of sending.
	head  *github.Commit
	top   map[string]*github.TreeEntry
	known map[string]bool
	// all are the blob ids of its whole tree, listed by ReadFile beside
	// the file (nil: not listed, or cut short).
	all map[string]bool
}

// IsSet reports whether b was read (by ReadBase or MovedError.Next).
func (b Base) IsSet() bool { return b.set }

// ReadBase reads the head of opts.Branch, to be given as Options.Base
// before the files are made. Failures worth it are retried by opts.Retry.
func ReadBase(ctx context.Context, gh *github.Client, opts Options) (Base, error) {
	if gh == nil {
		return Base{}, errors.New("branch: nil GitHub client")
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return Base{}, fmt.Errorf("branch: %w", err)
	}
	p := &publisher{gh: gh, opts: opts, ref: "refs/heads/" + opts.Branch}
	var head string
	_, err = opts.Retry.Do(ctx, "reading "+p.ref, func(ctx context.Context) (err error) {
		head, err = p.head(ctx)
		return err
	})
	if err != nil {
		return Base{}, err
	}
	return Base{Commit: head, set: true, calls: p.res.APICalls, h2: p.h2}, nil
}

// MovedError is ErrMoved with the heads: the branch was at Base when the
// files were made and is now at Head, a commit of another publish.
type MovedError struct {
	Branch     string
	Base, Head string // "" when the branch did not exist (or no longer does)
	APICalls   int    // made by the publish that found it, base read included
}

func (e *MovedError) Error() string {
	switch {
	case e.Base == "":
		return fmt.Sprintf("%v: another publish created branch %q (at %s)", ErrMoved, e.Branch, short(e.Head))
	case e.Head == "":
		return fmt.Sprintf("%v: branch %q, then at %s, was deleted", ErrMoved, e.Branch, short(e.Base))
	}
	return fmt.Sprintf("%v: another publish moved branch %q from %s to %s", ErrMoved, e.Branch, short(e.Base), short(e.Head))
}

func (e *MovedError) Is(target error) bool { return target == ErrMoved }

// Next is the head found, as the base of the next publish: it was read
// before anything the caller reads from now on.
func (e *MovedError) Next() Base { return Base{Commit: e.Head, set: true} }

// moved decides about a head that is not the base: another publish made it
// after the files were made. If it already holds the files, the publish is
// done, unchanged; otherwise nothing is written and ErrMoved says so.
func (p *publisher) moved(ctx context.Context, head string) error {
	if head != "" {
		if _, held, err := p.holds(ctx, head); held || err != nil {
			return err
		}
	}
	return &MovedError{Branch: p.opts.Branch, Base: p.base.Commit, Head: head, APICalls: p.res.APICalls}
}

// holds reads head's commit and reports whether its tree is the files';
// if so, the publish is done, unchanged.
func (p *publisher) holds(ctx context.Context, head string) (*github.Commit, bool, error) {
	c, err := p.commit(ctx, head)
	if err != nil {
		return nil, false, err
	}
	if c.GetTree().GetSHA() != p.want {
		return c, false, nil
	}
	p.done(head, false, false)
	return c, true, nil
}
