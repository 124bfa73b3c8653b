package branch

import "context"

// knownBlobs reads the tree of the branch's head recursively, in one
// request, and returns the ids of the blobs it holds: an update names each
// file whose content is among them by id instead of sending it again, so it
// sends only what changed. Only ids GitHub lists are reused, never one merely
// computed here: that blob may not be in the repository. When GitHub cuts the
// listing short (over 100,000 entries or 7 MB) it returns nil, and everything
// is sent as on a first publish.
func (p *publisher) knownBlobs(ctx context.Context, tree string) (map[string]bool, error) {
	p.res.APICalls++
	t, resp, err := p.gh.Git.GetTree(ctx, p.opts.Owner, p.opts.Repo, tree, true)
	if err != nil {
		return nil, p.fail("get tree "+short(tree)+" recursively", false, resp, err)
	}
	if t.GetTruncated() {
		return nil, nil
	}
	known := make(map[string]bool, len(t.Entries))
	for _, e := range t.Entries {
		if e.GetType() == "blob" && e.GetSHA() != "" {
			known[e.GetSHA()] = true
		}
	}
	return known, nil
}
