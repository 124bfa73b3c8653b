package branch

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/go-github/v60/github"
)

const (
	// MarkerPath is the file that marks a branch as managed by this tool;
	// without it an existing branch is left alone unless forced.
	MarkerPath = ".create-pin-refs"
	// FormatVersion is the version of the branch layout, written into the
	// marker so a later version can tell what it is replacing.
	FormatVersion = 1

	// markerHead starts the marker: what identifies the tool.
	markerHead = "This branch is managed by create-pin-refs;"
	// markerLimit bounds the marker read back: ours is ~160 bytes.
	markerLimit = 4 << 10

	// treeTrailer is written into each commit message with the id of the
	// commit's tree. A head whose tree is the one its trailer names was made
	// by this package, so it holds the marker: that saves reading its tree
	// (and keeps an update within a few calls) without trusting the
	// message alone.
	treeTrailer = "Create-Pin-Refs-Tree"
)

// MarkerContent is what the marker file holds.
func MarkerContent() []byte {
	return fmt.Appendf(nil, markerHead+" each publish commits the whole bundle on top.\n"+
		"Changes committed to it by hand are replaced by the next publish.\n"+
		"format: %d\n", FormatVersion)
}

// parseMarker returns the format version a marker names, if data is a
// marker written by this tool (of any version).
func parseMarker(data []byte) (int, bool) {
	if !bytes.HasPrefix(data, []byte(markerHead)) {
		return 0, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "format: "); ok {
			n, err := strconv.Atoi(v)
			return n, err == nil && n >= 1
		}
	}
	return 0, false
}

// checkManaged refuses to commit on top of a branch this tool did not make,
// unless forced: its head must be one of ours (its message names its own
// tree) or hold a marker file whose content is this tool's marker.
func (p *publisher) checkManaged(ctx context.Context, head string, c *github.Commit) error {
	tree := c.GetTree().GetSHA()
	if p.managed[head] || trailerTree(c.GetMessage()) == tree {
		return nil
	}
	if p.opts.Force {
		return nil
	}
	why, err := p.markerProblem(ctx, tree)
	if err != nil {
		return err
	}
	if why != "" {
		return &ForeignBranchError{Branch: p.opts.Branch, Head: short(head), Reason: why}
	}
	p.managed[head] = true
	return nil
}

// markerProblem reads the tree's marker and says what is wrong with it, or
// "" if it is this tool's marker of a format this version can replace.
func (p *publisher) markerProblem(ctx context.Context, tree string) (string, error) {
	p.res.APICalls++
	t, resp, err := p.gh.Git.GetTree(ctx, p.opts.Owner, p.opts.Repo, tree, false)
	if err != nil {
		return "", p.fail("get tree "+short(tree), false, resp, err)
	}
	for _, e := range t.Entries {
		if e.GetPath() != MarkerPath {
			continue
		}
		if e.GetType() != "blob" {
			return fmt.Sprintf("its %s is a %s, not a file", MarkerPath, e.GetType()), nil
		}
		if e.GetSHA() == blobID(MarkerContent()) {
			return "", nil
		}
		data, err := p.readBlob(ctx, e.GetSHA(), markerLimit)
		if err != nil {
			return "", err
		}
		switch v, ok := parseMarker(data); {
		case !ok:
			return fmt.Sprintf("its %s file does not hold create-pin-refs' marker", MarkerPath), nil
		case v > FormatVersion:
			return fmt.Sprintf("its %s file names format %d, newer than this version's %d: update create-pin-refs", MarkerPath, v, FormatVersion), nil
		}
		return "", nil
	}
	return fmt.Sprintf("it has no %s file", MarkerPath), nil
}

// checkNotDefault refuses to write the repository's default branch, with or
// without Force and whatever its marker says: the bundle replaces every file
// of the branch it lands on, which must never happen to the main line (a
// pins branch merged into it brings the marker along).
func (p *publisher) checkNotDefault(ctx context.Context) error {
	if p.defaultBranch == "" {
		if err := p.readDefault(ctx); err != nil {
			return err
		}
	}
	if p.defaultBranch == p.opts.Branch {
		return fmt.Errorf("%w: %q is the default branch of %s/%s, and the bundle would replace every file on it",
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

// readDefault reads the repository's default branch.
func (p *publisher) readDefault(ctx context.Context) error {
	p.res.APICalls++
	repo, resp, err := p.gh.Repositories.Get(ctx, p.opts.Owner, p.opts.Repo)
	if err != nil {
		return p.fail("get repository", false, resp, err)
	}
	if repo.GetDefaultBranch() == "" {
		return fmt.Errorf("get repository: no default branch in the answer")
	}
	p.defaultBranch = repo.GetDefaultBranch()
	return nil
}
