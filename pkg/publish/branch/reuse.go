package branch

import (
	"context"
	"strings"
)

// knownBlobs reads the tree of the branch's head recursively, in one
// request, and returns the ids of the blobs it holds: an update names each
// file whose content is among them by id instead of sending it again, so it
// sends only what changed. Only ids GitHub lists are reused, never one merely
// computed here: that blob may not be in the repository. When GitHub cuts the
// listing short (over 100,000 entries or 7 MB) it returns nil, and everything
// is sent as on a first publish. It is called only when worthListing.
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

// listedEntryBytes is about what GitHub's recursive listing spends on an
// entry besides its path: mode, type, sha, size and an API URL with the sha
// again (test/fakegithub's entries measure 195-205 bytes plus the path).
const listedEntryBytes = 200

// worthListing reports whether reading the head's tree can save more than
// it costs: the content that could be named by id (each distinct content
// once, less its id's place in the request) against the listing's size
// (every file and folder). A bundle of a few big shards gains megabytes; one
// of thousands of tiny one-name files would receive more than it saves.
func worthListing(files []File) bool {
	var saved, listing int
	seen := map[string]bool{}
	folders := map[string]bool{}
	for _, f := range files {
		listing += listedEntryBytes + len(f.Path)
		for i := strings.LastIndexByte(f.Path, '/'); i > 0 && !folders[f.Path[:i]]; i = strings.LastIndexByte(f.Path[:i], '/') {
			folders[f.Path[:i]] = true
			listing += listedEntryBytes + i
		}
		if id := blobID(f.Data); !seen[id] {
			seen[id] = true
			saved += max(0, len(f.Data)-len(`"sha":"`+id+`",`))
		}
	}
	return saved > listing
}
