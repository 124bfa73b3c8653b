package branch

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/google/go-github/v60/github"

	"github.com/kwbauson/create-pin-refs/pkg/retry"
)

// The Git Data API calls of a publish, one method each; each counts itself
// in Result.APICalls and reports failures through fail.

// head returns the branch's commit, or "" if the branch does not exist.
func (p *publisher) head(ctx context.Context) (string, error) {
	p.res.APICalls++
	ref, resp, err := p.gh.Git.GetRef(ctx, p.opts.Owner, p.opts.Repo, p.ref)
	p.h2 = resp != nil && resp.ProtoMajor == 2
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
		err = p.fail("get commit "+short(sha), false, resp, err)
		if status(resp) == http.StatusNotFound {
			// The ref named it a moment ago: a replica lagging behind.
			return nil, retry.Again(err)
		}
		return nil, err
	}
	if c.GetTree().GetSHA() == "" {
		return nil, fmt.Errorf("get commit %s: no tree in the answer", short(sha))
	}
	p.commits[sha] = c
	return c, nil
}

// makeTree creates the tree in one request, file contents inline, except
// content the branch already holds (p.known), named by its blob id. Content
// that is not UTF-8 cannot travel in JSON text, so it goes up as a base64
// blob first (a request each; bundles are text, so normally none), and so
// does content that several files share (the one-name bundles' Nix files):
// once, then named by its id, rather than inline once per file.
func (p *publisher) makeTree(ctx context.Context) error {
	if p.treeMade {
		return nil
	}
	ids := make([]string, len(p.files))
	uses := map[string]int{}
	for i, f := range p.files {
		ids[i] = blobID(f.Data)
		uses[ids[i]]++
	}
	var blobs []File // to send first, once each
	made := map[string]bool{}
	entries := make([]*github.TreeEntry, 0, len(p.files))
	for i, f := range p.files {
		mode := modeFile
		if f.Executable {
			mode = modeExecutable
		}
		e := &github.TreeEntry{Path: github.String(f.Path), Mode: github.String(mode), Type: github.String("blob")}
		switch id := ids[i]; {
		case p.known[id]:
			e.SHA = github.String(id)
		case utf8.Valid(f.Data) && uses[id] == 1:
			e.Content = github.String(string(f.Data))
		default:
			if !made[id] {
				blobs = append(blobs, f)
				made[id] = true
			}
			e.SHA = github.String(id)
		}
		entries = append(entries, e)
	}
	if err := p.makeBlobs(ctx, blobs); err != nil {
		return err
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

// blobsAtOnce bounds the blobs sent together; they need nothing of each
// other, and GitHub takes a few parallel writes of one client (its
// secondary rate limits are about many more).
const blobsAtOnce = 8

// makeBlobs sends the blobs of files together, a few at a time, over
// HTTP/2: one round trip for the few a bundle has. The first error is returned, once all
// are answered.
func (p *publisher) makeBlobs(ctx context.Context, files []File) error {
	p.res.APICalls += len(files)
	errs := make([]error, len(files))
	n := 1
	if p.h2 {
		n = blobsAtOnce
	}
	var wg sync.WaitGroup
	slots := make(chan struct{}, n)
	for i, f := range files {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			errs[i] = p.makeBlob(ctx, f)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (p *publisher) makeBlob(ctx context.Context, f File) error {
	blob, resp, err := p.gh.Git.CreateBlob(ctx, p.opts.Owner, p.opts.Repo, &github.Blob{
		Content:  github.String(base64.StdEncoding.EncodeToString(f.Data)),
		Encoding: github.String("base64"),
	})
	if err != nil {
		return p.fail("create blob for "+f.Path, true, resp, err)
	}
	if got, want := blob.GetSHA(), blobID(f.Data); got != want {
		return fmt.Errorf("create blob for %s: %w: GitHub made %s, computed %s", f.Path, ErrTreeMismatch, got, want)
	}
	return nil
}

// readBlob returns a blob's content, or nil when it is over limit bytes,
// read no further. It asks for the raw media type, which spares the
// base64 in JSON (a third more bytes, and decoding them); a server that
// answers JSON all the same is read as JSON.
func (p *publisher) readBlob(ctx context.Context, sha string, limit int) ([]byte, error) {
	p.res.APICalls++
	req, err := p.gh.NewRequest(http.MethodGet, fmt.Sprintf("repos/%v/%v/git/blobs/%v", p.opts.Owner, p.opts.Repo, sha), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/vnd.github.raw+json")
	// JSON is a third longer than the content it carries.
	w := &capped{limit: limit + limit/2 + 1024}
	resp, err := p.gh.Do(ctx, req, w)
	switch {
	case errors.Is(err, errOverLimit):
		return nil, nil
	case err != nil:
		return nil, p.fail("get blob "+short(sha), false, resp, err)
	}
	data := w.buf.Bytes()
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		var blob github.Blob
		if err := json.Unmarshal(data, &blob); err != nil {
			return nil, fmt.Errorf("get blob %s: %w", short(sha), err)
		}
		if blob.GetSize() > limit {
			return nil, nil
		}
		if blob.GetEncoding() != "base64" {
			return []byte(blob.GetContent()), nil
		}
		if data, err = base64.StdEncoding.DecodeString(strings.ReplaceAll(blob.GetContent(), "\n", "")); err != nil {
			return nil, fmt.Errorf("get blob %s: %w", short(sha), err)
		}
	}
	if len(data) > limit {
		return nil, nil
	}
	return data, nil
}

// errOverLimit stops the copy of an answer larger than wanted.
var errOverLimit = errors.New("answer over the limit")

// capped is a buffer that takes at most limit bytes.
type capped struct {
	buf   bytes.Buffer
	limit int
}

func (c *capped) Write(b []byte) (int, error) {
	if c.buf.Len()+len(b) > c.limit {
		return 0, errOverLimit
	}
	return c.buf.Write(b)
}

func (p *publisher) makeCommit(ctx context.Context, parent string) (string, error) {
	c := &github.Commit{
		Message: github.String(fmt.Sprintf("%s\n\n%s: %s\n", strings.TrimSpace(p.opts.CommitMessage), treeTrailer, p.want)),
		Tree:    &github.Tree{SHA: github.String(p.want)},
	}
	if a := p.opts.Author; a != (Identity{}) {
		c.Author = &github.CommitAuthor{Name: github.String(a.Name), Email: github.String(a.Email)}
	}
	if cm := p.opts.Committer; cm != (Identity{}) {
		c.Committer = &github.CommitAuthor{Name: github.String(cm.Name), Email: github.String(cm.Email)}
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
	p.res.Verified = made.GetVerification().GetVerified()
	return made.GetSHA(), nil
}

// writeRef points the branch at our commit: a create when it had no head,
// else a fast-forward-only update (GitHub's compare-and-swap).
func (p *publisher) writeRef(ctx context.Context, head string) error {
	ref := &github.Reference{Ref: github.String(p.ref), Object: &github.GitObject{SHA: github.String(p.ours)}}
	op := "update " + p.ref
	var resp *github.Response
	var err error
	p.res.APICalls++
	if head == "" {
		op = "create " + p.ref
		_, resp, err = p.gh.Git.CreateRef(ctx, p.opts.Owner, p.opts.Repo, ref)
	} else {
		_, resp, err = p.gh.Git.UpdateRef(ctx, p.opts.Owner, p.opts.Repo, ref, false)
	}
	if err == nil {
		return nil
	}
	err = p.fail(op, true, resp, err)
	if status(resp) != http.StatusUnprocessableEntity {
		return err
	}
	return p.settle(ctx, head, err)
}

// settle decides what a 422 from writing the ref means by reading the ref
// again, never by GitHub's wording: the ref holding our commit means the
// write landed; a ref moved, created or deleted by someone else is another
// publish's (moved); a ref unchanged means the write itself was refused (our
// new commit not yet visible to the ref store, typically), worth a bounded
// retry.
func (p *publisher) settle(ctx context.Context, head string, refused error) error {
	now, err := p.head(ctx)
	switch {
	case err != nil:
		return err
	case now == p.ours:
		return nil
	case now != head:
		return p.moved(ctx, now)
	default:
		return retry.Again(refused)
	}
}

// together runs fs at once over HTTP/2, where requests in parallel share
// the connection, and else one after another: over HTTP/1.1 each would
// dial a connection of its own, whose handshakes cost more than the round
// trips saved.
func together(h2 bool, fs ...func()) {
	if !h2 {
		for _, f := range fs {
			f()
		}
		return
	}
	var wg sync.WaitGroup
	for _, f := range fs {
		wg.Go(f)
	}
	wg.Wait()
}
