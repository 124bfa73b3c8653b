// Package nar holds Nix's archive format (NAR) for a folder of regular files, and
// the hash Nix records for it: `nix hash path` of the folder, which is what a
// flake lock's narHash says of an unpacked tarball.
package nar

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
)

// File is one regular file of the folder, with a slash-separated path relative
// to it. Folders are implied by the paths; a NAR cannot hold an empty one here.
type File struct {
	Path       string
	Data       []byte
	Executable bool
}

// node is a folder (children set) or a file.
type node struct {
	file     *File
	children map[string]*node
}

// Write writes the NAR of the folder holding files to w.
func Write(w io.Writer, files []File) error {
	root, err := tree(files)
	if err != nil {
		return err
	}
	e := &encoder{w: w}
	e.str("nix-archive-1")
	e.node(root)
	return e.err
}

// Hash returns the SHA-256 of the folder's NAR in Nix's SRI form, "sha256-…",
// as `nix hash path` prints it.
func Hash(files []File) (string, error) {
	h := sha256.New()
	if err := Write(h, files); err != nil {
		return "", err
	}
	return "sha256-" + base64.StdEncoding.EncodeToString(h.Sum(nil)), nil
}

func tree(files []File) (*node, error) {
	root := &node{children: map[string]*node{}}
	for i := range files {
		f := &files[i]
		if f.Path == "" || path.Clean(f.Path) != f.Path || strings.HasPrefix(f.Path, "/") || f.Path == "." ||
			strings.HasPrefix(f.Path, "../") || f.Path == ".." {
			return nil, fmt.Errorf("nar: file path %q is not a clean relative path", f.Path)
		}
		parts := strings.Split(f.Path, "/")
		dir := root
		for j, p := range parts {
			if strings.ContainsRune(p, 0) {
				return nil, fmt.Errorf("nar: file path %q holds a NUL byte", f.Path)
			}
			child := dir.children[p]
			last := j == len(parts)-1
			switch {
			case child == nil && last:
				dir.children[p] = &node{file: f}
			case child == nil:
				child = &node{children: map[string]*node{}}
				dir.children[p] = child
			case last || child.file != nil:
				return nil, fmt.Errorf("nar: %q is given twice, or as both a file and a folder", path.Join(parts[:j+1]...))
			}
			dir = child
		}
	}
	return root, nil
}

// encoder writes NAR tokens: each string is its 64-bit little-endian length, its
// bytes and zero padding to a multiple of 8. The first error sticks.
type encoder struct {
	w   io.Writer
	err error
	buf [8]byte
}

func (e *encoder) write(b []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}

func (e *encoder) bytes(b []byte) {
	binary.LittleEndian.PutUint64(e.buf[:], uint64(len(b)))
	e.write(e.buf[:])
	e.write(b)
	if pad := (8 - len(b)%8) % 8; pad > 0 {
		clear(e.buf[:])
		e.write(e.buf[:pad])
	}
}

func (e *encoder) str(ss ...string) {
	for _, s := range ss {
		e.bytes([]byte(s))
	}
}

func (e *encoder) node(n *node) {
	e.str("(")
	if f := n.file; f != nil {
		e.str("type", "regular")
		if f.Executable {
			e.str("executable", "")
		}
		e.str("contents")
		e.bytes(f.Data)
		e.str(")")
		return
	}
	e.str("type", "directory")
	names := make([]string, 0, len(n.children))
	for name := range n.children {
		names = append(names, name)
	}
	slices.Sort(names) // bytewise, as Nix orders entries
	for _, name := range names {
		e.str("entry", "(", "name", name, "node")
		e.node(n.children[name])
		e.str(")")
	}
	e.str(")")
}
