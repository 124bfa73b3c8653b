package fakegithub

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// treeInput is one entry of a create-tree request. SHA is raw so that
// `"sha": null` (delete the path) can be told from an absent field.
type treeInput struct {
	Path    *string         `json:"path"`
	Mode    *string         `json:"mode"`
	Type    *string         `json:"type"`
	SHA     json.RawMessage `json:"sha"`
	Content *string         `json:"content"`
}

// node is a folder being edited, or an entry kept as it is.
type node struct {
	mode, typ, sha string
	kids           map[string]*node // set once a folder is loaded or new
	content        *string          // a new blob's, until it is written
	// fromBase: the node is the base tree's at the same path (the root, or
	// loaded from a folder that is), so its files are in the base's listing.
	fromBase bool
}

// typeOfMode is the object type each mode GitHub accepts must point to.
func typeOfMode(mode string) (string, bool) {
	switch mode {
	case "100644", "100755", "120000":
		return "blob", true
	case "040000":
		return "tree", true
	case "160000":
		return "commit", true
	}
	return "", false
}

// POST /repos/{o}/{r}/git/trees {"base_tree", "tree": [...]}: entries may
// have nested paths (folders are made as needed), inline content (stored
// as a blob) or a sha, or a null sha to delete a path of the base tree.
func (s *Server) createTree(r *http.Request) (int, any, error) {
	var in struct {
		BaseTree *string     `json:"base_tree"`
		Tree     []treeInput `json:"tree"`
	}
	if err := decode(r, &in); err != nil {
		return 0, nil, err
	}
	if in.Tree == nil {
		return 0, nil, errorf(http.StatusUnprocessableEntity, "Invalid request.\n\n\"tree\" wasn't supplied.")
	}
	ctx := r.Context()
	root := &node{mode: "040000", typ: "tree", kids: map[string]*node{}}
	if base := deref(in.BaseTree); base != "" {
		typ, err := s.git.objectType(ctx, base)
		if err != nil {
			return 0, nil, err
		}
		if typ != "tree" {
			return 0, nil, errorf(http.StatusUnprocessableEntity, "Invalid request.\n\nbase_tree %s is not a tree.", base)
		}
		root = &node{mode: "040000", typ: "tree", sha: base, fromBase: true}
	}
	var shas []string
	for _, e := range in.Tree {
		var sha string
		if json.Unmarshal(e.SHA, &sha) == nil {
			shas = append(shas, sha)
		}
	}
	if err := s.git.knowTypes(ctx, shas); err != nil {
		return 0, nil, err
	}
	for _, e := range in.Tree {
		if err := s.applyEntry(ctx, root, e); err != nil {
			return 0, nil, err
		}
	}
	sha, err := s.writeTree(ctx, root)
	if err != nil {
		return 0, nil, err
	}
	body, err := s.treeJSON(r, sha, false)
	return http.StatusCreated, body, err
}

func (s *Server) applyEntry(ctx context.Context, root *node, e treeInput) error {
	path := deref(e.Path)
	segs := strings.Split(path, "/")
	for _, seg := range segs {
		if seg == "" || seg == "." || seg == ".." || strings.EqualFold(seg, ".git") || strings.ContainsRune(seg, 0) {
			return errorf(http.StatusUnprocessableEntity, "tree.path contains a malformed path component")
		}
	}
	mode := deref(e.Mode)
	if mode == "40000" {
		mode = "040000"
	}
	want, ok := typeOfMode(mode)
	if !ok {
		return errorf(http.StatusUnprocessableEntity, "Invalid request.\n\n%q is not a valid tree.mode for %q.", mode, path)
	}
	if t := deref(e.Type); t != "" && t != want {
		return errorf(http.StatusUnprocessableEntity, "Invalid request.\n\ntree.type %q does not match mode %s.", t, mode)
	}
	var sha *string
	if len(e.SHA) > 0 && string(e.SHA) != "null" {
		if err := json.Unmarshal(e.SHA, &sha); err != nil {
			return errorf(http.StatusBadRequest, "Problems parsing JSON")
		}
	}
	if sha != nil && e.Content != nil {
		return errorf(http.StatusUnprocessableEntity, "Must supply either tree.sha or tree.content. Request will be rejected if both are present.")
	}
	if e.Content != nil && want != "blob" {
		return errorf(http.StatusUnprocessableEntity, "Invalid request.\n\ntree.content is only allowed for blobs.")
	}

	dir := root
	for _, seg := range segs[:len(segs)-1] {
		if err := s.load(ctx, dir); err != nil {
			return err
		}
		kid := dir.kids[seg]
		if kid == nil || kid.typ != "tree" {
			if sha == nil && e.Content == nil {
				return nil // deleting below a folder that is not there
			}
			kid = &node{mode: "040000", typ: "tree", kids: map[string]*node{}}
			dir.kids[seg] = kid
		}
		dir = kid
	}
	if err := s.load(ctx, dir); err != nil {
		return err
	}
	name := segs[len(segs)-1]
	switch {
	case e.Content != nil:
		// Written with the others by writeTree: one git process for all.
		dir.kids[name] = &node{mode: mode, typ: "blob", content: e.Content}
	case sha != nil:
		if want != "commit" { // a submodule's commit lives elsewhere
			typ, err := s.git.objectType(ctx, *sha)
			if err != nil {
				return err
			}
			if typ != want {
				return errorf(http.StatusUnprocessableEntity, "Invalid request.\n\ntree.sha %s is not a valid %s.", *sha, want)
			}
		} else if !isSHA(*sha) {
			return errorf(http.StatusUnprocessableEntity, "Invalid request.\n\ntree.sha %s is not a valid commit.", *sha)
		}
		dir.kids[name] = &node{mode: mode, typ: want, sha: *sha}
	default:
		delete(dir.kids, name)
	}
	return nil
}

// load reads a folder's entries from git the first time it is edited.
func (s *Server) load(ctx context.Context, n *node) error {
	if n.kids != nil {
		return nil
	}
	entries, err := s.git.lsTree(ctx, n.sha, false)
	if err != nil {
		return err
	}
	n.kids = make(map[string]*node, len(entries))
	for _, e := range entries {
		n.kids[e.Path] = &node{mode: e.Mode, typ: e.Type, sha: e.SHA, fromBase: n.fromBase}
	}
	return nil
}

// writeTree writes the new blobs, then the tree of n and its folders, with
// git: the blobs by one `git hash-object --stdin-paths`, the folders by one
// `git update-index --index-info` into a new index and `git write-tree`,
// which drops folders left empty (git does not keep them), so that a tree of
// thousands of files costs a few processes, as GitHub answers it in one
// request. Objects were checked when the entries were applied; --missing-ok
// lets a submodule's commit be absent.
func (s *Server) writeTree(ctx context.Context, n *node) (string, error) {
	if n.kids == nil {
		return n.sha, nil
	}
	var blobs []*node
	collectBlobs(n, &blobs)
	if err := s.git.writeBlobs(ctx, blobs); err != nil {
		return "", err
	}
	var index bytes.Buffer
	base := &baseFiles{tree: n.sha}
	if !n.fromBase {
		base.tree = ""
	}
	if err := s.indexEntries(ctx, n, "", base, &index); err != nil {
		return "", err
	}
	return s.git.writeIndexTree(ctx, index.Bytes())
}

// baseFiles is the base tree's files by folder, read with one `git ls-tree
// -r` the first time a folder of it is kept as it is: an edit of a base
// with thousands of folders then costs one process, not one per folder.
type baseFiles struct {
	tree  string // "" when there is no base
	read  bool
	byDir map[string][]lsEntry // paths relative to the folder
}

func (b *baseFiles) under(ctx context.Context, g *gitRepo, dir string) ([]lsEntry, error) {
	if !b.read {
		entries, err := g.lsTree(ctx, b.tree, true)
		if err != nil {
			return nil, err
		}
		b.read, b.byDir = true, map[string][]lsEntry{}
		for _, e := range entries {
			if e.Type == "tree" {
				continue
			}
			for i := strings.LastIndexByte(e.Path, '/'); i > 0; i = strings.LastIndexByte(e.Path[:i], '/') {
				rel := e
				rel.Path = e.Path[i+1:]
				b.byDir[e.Path[:i]] = append(b.byDir[e.Path[:i]], rel)
			}
		}
	}
	return b.byDir[dir], nil
}

func collectBlobs(n *node, out *[]*node) {
	for _, name := range sortedNames(n.kids) {
		kid := n.kids[name]
		if kid.content != nil {
			*out = append(*out, kid)
		}
		collectBlobs(kid, out)
	}
}

// indexEntries appends every file under n as `git update-index -z
// --index-info` reads it: "MODE TYPE SHA\tPATH\0".
func (s *Server) indexEntries(ctx context.Context, n *node, prefix string, base *baseFiles, out *bytes.Buffer) error {
	for _, name := range sortedNames(n.kids) {
		kid := n.kids[name]
		switch {
		case kid.typ == "tree" && kid.kids != nil:
			if err := s.indexEntries(ctx, kid, prefix+name+"/", base, out); err != nil {
				return err
			}
		case kid.typ == "tree":
			// A folder kept as it is: its files, from the base's listing
			// or, named by its id, from its own.
			var entries []lsEntry
			var err error
			if kid.fromBase && base.tree != "" {
				entries, err = base.under(ctx, s.git, prefix+name)
			} else {
				entries, err = s.git.lsTree(ctx, kid.sha, true)
			}
			if err != nil {
				return err
			}
			for _, e := range entries {
				if e.Type == "tree" {
					continue // its files are listed too
				}
				fmt.Fprintf(out, "%s %s %s\t%s%s/%s\x00", e.Mode, e.Type, e.SHA, prefix, name, e.Path)
			}
		default:
			fmt.Fprintf(out, "%s %s %s\t%s%s\x00", kid.mode, kid.typ, kid.sha, prefix, name)
		}
	}
	return nil
}
