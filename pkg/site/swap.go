package site

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kwbauson/create-pin-refs/pkg/bundle"
)

// fsOps are the file system calls that put a site in place; tests replace
// them to fail at any one step (a full disk, say).
type fsOps struct {
	writeFile func(name string, data []byte, perm fs.FileMode) error
	mkdir     func(name string, perm fs.FileMode) error
	rename    func(from, to string) error
	link      func(old, new string) error
	// writeWith creates the file name and has write fill it.
	writeWith func(name string, perm fs.FileMode, write func(io.Writer) error) error
}

func osOps() fsOps {
	return fsOps{writeFile: os.WriteFile, mkdir: os.Mkdir, rename: os.Rename, link: os.Link, writeWith: writeWith}
}

func writeWith(name string, perm fs.FileMode, write func(io.Writer) error) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// swap replaces entries of a folder all or nothing. Every new entry is
// written first into a staging folder inside the site folder (the same file
// system, so that renames never copy); only then is each old entry moved
// aside and the new one moved in, by renames, which need no space. Any
// failure puts back what was moved, so the folder holds either every old
// entry or every new one, never a mix.
type swap struct {
	ops   fsOps
	dir   string   // the site folder
	stage string   // dir/.staging-*: new/ holds the new entries, old/ the replaced ones
	names []string // staged entries, in the order they go live
	// removed are entries of names that have no new version: they only go.
	removed map[string]bool
	// patched are folders of names changed file by file (patch), not
	// replaced whole.
	patched map[string]*patchSet
}

func newSwap(dir string, ops fsOps) (*swap, error) {
	stage, err := os.MkdirTemp(dir, stagingPattern)
	if err != nil {
		return nil, err
	}
	s := &swap{ops: ops, dir: dir, stage: stage}
	for _, d := range []string{"new", "old"} {
		if err := ops.mkdir(filepath.Join(stage, d), 0o755); err != nil {
			s.close()
			return nil, err
		}
	}
	return s, nil
}

// stagingPattern names staging folders (os.MkdirTemp, filepath.Match).
const stagingPattern = ".staging-*"

// staleAfter is how old a staging folder must be before a later write takes
// it for one left by a run that was killed: far longer than any write
// takes, so that two runs writing one folder at once never remove each
// other's.
const staleAfter = time.Hour

// removeStale removes the staging folders of dir last changed before
// now-staleAfter and returns their names. Their content is the new or the
// previous version of entries that the write about to start replaces
// anyway; left in place they would be packed into every later artifact.
func removeStale(dir string, now time.Time) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(dir, stagingPattern))
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, m := range matches {
		st, err := os.Lstat(m)
		if err != nil || !st.IsDir() || now.Sub(st.ModTime()) < staleAfter || !isStaging(m) {
			continue
		}
		if err := os.RemoveAll(m); err != nil {
			return removed, fmt.Errorf("removing %s, left by a run that did not finish: %w", m, err)
		}
		removed = append(removed, filepath.Base(m))
	}
	return removed, nil
}

// isStaging reports whether dir is a staging folder as newSwap makes them:
// named by os.MkdirTemp's digits and holding new/ and old/ folders and
// nothing else. A folder of the user's that shares the prefix is not one.
func isStaging(dir string) bool {
	digits := strings.TrimPrefix(filepath.Base(dir), strings.TrimSuffix(stagingPattern, "*"))
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return false
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) > 2 {
		return false
	}
	for _, e := range entries {
		if !e.IsDir() || e.Name() != "new" && e.Name() != "old" {
			return false
		}
	}
	return true
}

// file stages the file name (a direct entry of the site folder).
func (s *swap) file(name string, data []byte) error {
	if err := s.ops.writeFile(filepath.Join(s.stage, "new", name), data, 0o644); err != nil {
		return err
	}
	s.names = append(s.names, name)
	return nil
}

// stream stages the file name, which write fills, and returns its size. It
// goes live where add is called, so that it can be written before what it
// refers to.
func (s *swap) stream(name string, write func(io.Writer) error) (int64, error) {
	var n int64
	err := s.ops.writeWith(filepath.Join(s.stage, "new", name), 0o644, func(w io.Writer) error {
		return write(counter{w, &n})
	})
	return n, err
}

// add puts the staged entry name next in the order entries go live.
func (s *swap) add(name string) { s.names = append(s.names, name) }

// counter counts the bytes written to w.
type counter struct {
	w io.Writer
	n *int64
}

func (c counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	*c.n += int64(n)
	return n, err
}

// tree stages the folder name holding files.
func (s *swap) tree(name string, files []bundle.File) error {
	root := filepath.Join(s.stage, "new", name)
	if err := s.ops.mkdir(root, 0o755); err != nil {
		return err
	}
	// Folders first, each once, then the files.
	made := map[string]bool{root: true}
	for _, f := range files {
		if err := s.mkdirAll(made, filepath.Dir(filepath.Join(root, filepath.FromSlash(f.Path)))); err != nil {
			return err
		}
	}
	// Files are written one at a time: creating files in one folder from
	// several goroutines made a 10,000-pin site 2.5× slower (they wait on the
	// folder's lock, spinning). A file holding the very bytes of the one before
	// it (p/NAME and p/NAME.tar.gz) is a hard link to it: a link costs a tenth
	// of a file's creation, and tar, like the Pages artifact, stores both in
	// full.
	path := func(f bundle.File) string { return filepath.Join(root, filepath.FromSlash(f.Path)) }
	for i, f := range files {
		var err error
		if i > 0 && sameBytes(f, files[i-1]) {
			err = s.ops.link(path(files[i-1]), path(f))
		} else {
			err = s.ops.writeFile(path(f), f.Data, f.Mode.Perm())
		}
		if err != nil {
			return err
		}
	}
	s.names = append(s.names, name)
	return nil
}

// remove stages the removal of the entry name, if it exists.
func (s *swap) remove(name string) {
	if s.removed == nil {
		s.removed = map[string]bool{}
	}
	s.removed[name] = true
	s.names = append(s.names, name)
}

// mkdirAll creates dir and its parents up to a folder in made, which it
// records.
func (s *swap) mkdirAll(made map[string]bool, dir string) error {
	if made[dir] {
		return nil
	}
	if err := s.mkdirAll(made, filepath.Dir(dir)); err != nil {
		return err
	}
	if err := s.ops.mkdir(dir, 0o755); err != nil {
		return err
	}
	made[dir] = true
	return nil
}

// commit puts every staged entry in place, or none.
func (s *swap) commit() error {
	for i, n := range s.names {
		if p := s.patched[n]; p != nil {
			if err := s.commitPatch(n, p); err != nil {
				return errors.Join(err, s.rollback(s.names[:i+1]))
			}
			continue
		}
		if err := s.ops.rename(filepath.Join(s.dir, n), filepath.Join(s.stage, "old", n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return errors.Join(err, s.rollback(s.names[:i]))
		}
		if s.removed[n] {
			continue
		}
		if err := s.ops.rename(filepath.Join(s.stage, "new", n), filepath.Join(s.dir, n)); err != nil {
			return errors.Join(err, s.rollback(s.names[:i+1]))
		}
	}
	return nil
}

// rollback puts the old entries of names back, last first.
func (s *swap) rollback(names []string) error {
	var errs []error
	for i := len(names) - 1; i >= 0; i-- {
		if p := s.patched[names[i]]; p != nil {
			if err := s.rollbackPatch(names[i], p); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		live, old := filepath.Join(s.dir, names[i]), filepath.Join(s.stage, "old", names[i])
		if _, err := os.Lstat(old); err != nil {
			// There was no old entry: the new one goes.
			if err := os.RemoveAll(live); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		if err := s.ops.rename(live, filepath.Join(s.stage, "new", names[i])); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		if err := s.ops.rename(old, live); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// close removes the staging folder: the new entries not put in place, or the
// old ones replaced.
func (s *swap) close() error { return os.RemoveAll(s.stage) }
