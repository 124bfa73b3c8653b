package site

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/kwbauson/create-pin-refs/pkg/bundle"
)

// patchSet is what changes in a patched folder: the files staged in its
// new/ folder, which replace or join the live ones, and the live files
// that go. The others stay where they are.
type patchSet struct {
	put, drop []string
}

// patch stages the folder name holding files, all directly in it, as
// changes to the live folder: a live file that already holds a file's bytes
// and mode stays where it is, untouched; the other files are staged, and
// the live entries not among files go. Most of the one-name bundles of a
// republish are unchanged: reading them costs a third of writing them and
// removing the old ones. It returns false, having staged nothing, when the
// live folder is missing or not one it patches (not a folder, holding one);
// tree then stages the folder whole.
func (s *swap) patch(name string, files []bundle.File) (bool, error) {
	live := filepath.Join(s.dir, name)
	if st, err := os.Lstat(live); err != nil || !st.IsDir() {
		return false, nil
	}
	entries, err := os.ReadDir(live)
	if err != nil {
		return false, nil
	}
	// The live entries not yet matched with a file, and whether each is a
	// regular file: a symlink is replaced even if it leads to the bytes.
	left := make(map[string]bool, len(entries))
	for _, e := range entries {
		if e.IsDir() {
			return false, nil
		}
		left[e.Name()] = e.Type().IsRegular()
	}
	for _, f := range files {
		if strings.ContainsRune(f.Path, '/') || f.Path == "." || !fs.ValidPath(f.Path) {
			return false, nil
		}
	}
	same, err := compareLive(live, files, left)
	if err != nil {
		return false, nil
	}
	root := filepath.Join(s.stage, "new", name)
	if err := s.ops.mkdir(root, 0o755); err != nil {
		return false, err
	}
	p := &patchSet{}
	staged := false // files[i-1] was staged
	for i, f := range files {
		delete(left, f.Path)
		if same[i] {
			staged = false
			continue
		}
		to := filepath.Join(root, f.Path)
		if i > 0 && staged && sameBytes(f, files[i-1]) {
			err = s.ops.link(filepath.Join(root, files[i-1].Path), to)
		} else {
			err = s.ops.writeFile(to, f.Data, f.Mode.Perm())
		}
		if err != nil {
			return false, err
		}
		staged = true
		p.put = append(p.put, f.Path)
	}
	for _, e := range entries {
		if _, ok := left[e.Name()]; ok {
			p.drop = append(p.drop, e.Name())
		}
	}
	if s.patched == nil {
		s.patched = map[string]*patchSet{}
	}
	s.patched[name] = p
	s.names = append(s.names, name)
	return true, nil
}

// compareLive says which files the folder live holds already, as regular
// files (regular, by name) of their bytes and mode. It reads on every core:
// unlike writes (tree), reads of one folder do not wait on each other.
func compareLive(live string, files []bundle.File, regular map[string]bool) ([]bool, error) {
	root, err := os.OpenRoot(live)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	same := make([]bool, len(files))
	workers := max(1, runtime.GOMAXPROCS(0))
	chunk := max(1, (len(files)+workers-1)/workers)
	var wg sync.WaitGroup
	for start := 0; start < len(files); start += chunk {
		end := min(start+chunk, len(files))
		wg.Go(func() {
			var c fileCompare
			// prev is the live file of files[i-1] when it holds its bytes: a
			// file sharing them may be a link to it (tree makes
			// p/NAME.tar.gz one), which need not be read again.
			var prev os.FileInfo
			for i := start; i < end; i++ {
				f := files[i]
				if !regular[f.Path] {
					prev = nil
					continue
				}
				if prev != nil && sameBytes(f, files[i-1]) {
					if st, err := root.Lstat(f.Path); err == nil && st.Mode().IsRegular() && os.SameFile(st, prev) {
						same[i] = true
						continue
					}
				}
				prev, same[i] = c.holds(root, f)
			}
		})
	}
	wg.Wait()
	return same, nil
}

// fileCompare reads files to compare them with what is to be written,
// through one buffer.
type fileCompare struct{ buf []byte }

// holds reports whether f.Path in root is a regular file of f's mode holding f's
// bytes, and returns its FileInfo then.
func (c *fileCompare) holds(root *os.Root, f bundle.File) (os.FileInfo, bool) {
	r, err := root.Open(f.Path)
	if err != nil {
		return nil, false
	}
	defer r.Close()
	st, err := r.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Mode().Perm() != f.Mode.Perm() || st.Size() != int64(len(f.Data)) {
		return nil, false
	}
	if cap(c.buf) < len(f.Data)+1 {
		c.buf = make([]byte, len(f.Data)+1, 2*len(f.Data)+1)
	}
	// One byte more than expected: a file grown since the Stat reads as
	// different.
	n, err := io.ReadFull(r, c.buf[:len(f.Data)+1])
	if !errors.Is(err, io.ErrUnexpectedEOF) && !(err == nil && len(f.Data) == 0) || n != len(f.Data) || !bytes.Equal(c.buf[:n], f.Data) {
		return nil, false
	}
	return st, true
}

// sameBytes reports whether a and b share their data, not just its value,
// and their mode: then one was made as a copy of the other.
func sameBytes(a, b bundle.File) bool {
	return len(a.Data) > 0 && len(a.Data) == len(b.Data) && &a.Data[0] == &b.Data[0] && a.Mode == b.Mode
}

// commitPatch puts the staged files of the patched folder name in place,
// the live files they replace and those that go moved to old/.
func (s *swap) commitPatch(name string, p *patchSet) error {
	live, old, staged := filepath.Join(s.dir, name), filepath.Join(s.stage, "old", name), filepath.Join(s.stage, "new", name)
	if err := s.ops.mkdir(old, 0o755); err != nil {
		return err
	}
	for _, f := range p.put {
		if err := s.ops.rename(filepath.Join(live, f), filepath.Join(old, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if err := s.ops.rename(filepath.Join(staged, f), filepath.Join(live, f)); err != nil {
			return err
		}
	}
	for _, f := range p.drop {
		if err := s.ops.rename(filepath.Join(live, f), filepath.Join(old, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// rollbackPatch puts back the live files of the patched folder name that
// commitPatch moved or replaced, whatever part of it was done.
func (s *swap) rollbackPatch(name string, p *patchSet) error {
	live, old, staged := filepath.Join(s.dir, name), filepath.Join(s.stage, "old", name), filepath.Join(s.stage, "new", name)
	var errs []error
	for i := len(p.drop) - 1; i >= 0; i-- {
		f := p.drop[i]
		if _, err := os.Lstat(filepath.Join(old, f)); err != nil {
			continue // never moved
		}
		if err := s.ops.rename(filepath.Join(old, f), filepath.Join(live, f)); err != nil {
			errs = append(errs, err)
		}
	}
	for i := len(p.put) - 1; i >= 0; i-- {
		f := p.put[i]
		if _, err := os.Lstat(filepath.Join(old, f)); err != nil {
			// There was no live file: the new one goes, if it was moved in.
			if _, err := os.Lstat(filepath.Join(staged, f)); errors.Is(err, fs.ErrNotExist) {
				if err := os.Remove(filepath.Join(live, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
					errs = append(errs, err)
				}
			}
			continue
		}
		if err := s.ops.rename(filepath.Join(live, f), filepath.Join(staged, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		if err := s.ops.rename(filepath.Join(old, f), filepath.Join(live, f)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
