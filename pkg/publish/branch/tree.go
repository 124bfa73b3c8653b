package branch

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Git file modes as GitHub's tree API spells them.
const (
	modeFile       = "100644"
	modeExecutable = "100755"
	// modeTree is how a folder's mode is written inside a tree object
	// (git writes it without the leading zero that ls-tree and GitHub show).
	modeTree = "40000"
)

// blobID returns the git object id of a blob holding data, the id that git
// and GitHub give it, so trees can be compared without asking the API.
func blobID(data []byte) string {
	return objectID("blob", data)
}

func objectID(kind string, body []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "%s %d\x00", kind, len(body))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// treeNode is a folder being hashed: its files and sub-folders by name.
type treeNode struct {
	files   map[string]File
	folders map[string]*treeNode
}

// treeID returns the git id of the tree holding files (already validated:
// clean relative paths, no duplicates, no file that is also a folder).
func treeID(files []File) string {
	root := &treeNode{}
	for _, f := range files {
		n := root
		parts := strings.Split(f.Path, "/")
		for _, dir := range parts[:len(parts)-1] {
			if n.folders == nil {
				n.folders = map[string]*treeNode{}
			}
			child := n.folders[dir]
			if child == nil {
				child = &treeNode{}
				n.folders[dir] = child
			}
			n = child
		}
		if n.files == nil {
			n.files = map[string]File{}
		}
		n.files[parts[len(parts)-1]] = f
	}
	return root.id()
}

func (n *treeNode) id() string {
	type entry struct {
		name string // name as git sorts it: folders end in "/"
		line []byte
	}
	var entries []entry
	for name, f := range n.files {
		mode := modeFile
		if f.Executable {
			mode = modeExecutable
		}
		entries = append(entries, entry{name, treeEntry(mode, name, blobID(f.Data))})
	}
	for name, child := range n.folders {
		entries = append(entries, entry{name + "/", treeEntry(modeTree, name, child.id())})
	}
	// Git orders entries bytewise, comparing a folder's name as if it ended
	// in "/": "a.b" < "a/" < "a0".
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	var body bytes.Buffer
	for _, e := range entries {
		body.Write(e.line)
	}
	return objectID("tree", body.Bytes())
}

func treeEntry(mode, name, id string) []byte {
	raw, err := hex.DecodeString(id)
	if err != nil {
		panic("branch: bad object id " + strconv.Quote(id)) // ids come from objectID only
	}
	line := make([]byte, 0, len(mode)+len(name)+2+len(raw))
	line = append(line, mode...)
	line = append(line, ' ')
	line = append(line, name...)
	line = append(line, 0)
	return append(line, raw...)
}

// checkPath rejects paths that git, GitHub or a checkout would treat
// specially, so the published tree is exactly the files given.
func checkPath(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("%w: empty path", ErrInvalidPath)
	case !utf8.ValidString(p):
		return fmt.Errorf("%w: %q is not UTF-8", ErrInvalidPath, p)
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("%w: %q is absolute", ErrInvalidPath, p)
	case strings.ContainsAny(p, "\\\x00"):
		return fmt.Errorf("%w: %q holds a backslash or NUL", ErrInvalidPath, p)
	}
	for _, seg := range strings.Split(p, "/") {
		switch {
		case seg == "":
			return fmt.Errorf("%w: %q has an empty segment", ErrInvalidPath, p)
		case seg == "." || seg == "..":
			return fmt.Errorf("%w: %q has a %q segment", ErrInvalidPath, p, seg)
		case strings.EqualFold(seg, ".git"):
			// Case-folding file systems would take ".GIT" for ".git" too.
			return fmt.Errorf("%w: %q has a .git segment", ErrInvalidPath, p)
		}
		for _, r := range seg {
			if r < 0x20 || r == 0x7f {
				return fmt.Errorf("%w: %q holds a control character", ErrInvalidPath, p)
			}
		}
	}
	return nil
}

// checkFiles validates the whole set: paths, duplicates, a file that is
// also a folder, and the reserved marker name.
func checkFiles(files []File) error {
	if len(files) == 0 {
		return ErrNoFiles
	}
	seen := make(map[string]bool, len(files))
	for _, f := range files {
		if err := checkPath(f.Path); err != nil {
			return err
		}
		if f.Path == MarkerPath {
			return fmt.Errorf("%w: %q is reserved for the marker file", ErrInvalidPath, f.Path)
		}
		if seen[f.Path] {
			return fmt.Errorf("%w: %q is given twice", ErrInvalidPath, f.Path)
		}
		seen[f.Path] = true
	}
	for _, f := range files {
		for i := strings.IndexByte(f.Path, '/'); i >= 0; i = nextSlash(f.Path, i) {
			if seen[f.Path[:i]] {
				return fmt.Errorf("%w: %q is a file and also the folder of %q", ErrInvalidPath, f.Path[:i], f.Path)
			}
		}
	}
	return nil
}

func nextSlash(p string, after int) int {
	j := strings.IndexByte(p[after+1:], '/')
	if j < 0 {
		return -1
	}
	return after + 1 + j
}
