package bundle

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/kwbauson/create-pin-refs/pkg/nar"
)

// TopDir is the single top-level folder of the tarball; Nix 2.8 requires exactly one.
const TopDir = "pins"

// mtime is fixed so that the same pins give the same bytes (Nix itself normalises
// store mtimes to 1).
var mtime = time.Unix(1, 0).UTC()

// Add adds a file (mode 0644) beside the rendered ones, keeping the order.
func (b *Bundle) Add(path string, data []byte) {
	i, _ := slices.BinarySearchFunc(b.Files, path, func(f File, p string) int { return strings.Compare(f.Path, p) })
	b.Files = slices.Insert(b.Files, i, File{Path: path, Data: data, Mode: 0o644})
}

// Put adds a file (mode 0644) like Add, or replaces the file at path.
func (b *Bundle) Put(path string, data []byte) {
	i, found := slices.BinarySearchFunc(b.Files, path, func(f File, p string) int { return strings.Compare(f.Path, p) })
	if found {
		b.Files[i] = File{Path: path, Data: data, Mode: 0o644}
		return
	}
	b.Files = slices.Insert(b.Files, i, File{Path: path, Data: data, Mode: 0o644})
}

// Tarball returns the bundle as a gzip-compressed tar with one top-level folder,
// byte-identical for identical bundles.
func (b *Bundle) Tarball() ([]byte, error) {
	var out bytes.Buffer
	size := 0
	for _, f := range b.Files {
		size += len(f.Data) + 1024
	}
	out.Grow(size / 3) // pin data compresses about threefold
	// The default level: level 9 costs 10 times the time for a 3% smaller tarball.
	zw, err := gzip.NewWriterLevel(&out, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(zw)
	dirs := map[string]bool{}
	addDir := func(d string) error {
		if dirs[d] {
			return nil
		}
		dirs[d] = true
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: mtime, Format: tar.FormatUSTAR})
	}
	for _, f := range b.Files {
		name := path.Join(TopDir, f.Path)
		// Parents first, in path order, as tar readers expect.
		var parents []string
		for d := path.Dir(name); d != "."; d = path.Dir(d) {
			parents = append([]string{d}, parents...)
		}
		for _, d := range parents {
			if err := addDir(d); err != nil {
				return nil, err
			}
		}
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: int64(len(f.Data)), Mode: int64(f.Mode.Perm()), ModTime: mtime}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("tar %s: %w", name, err)
		}
		if _, err := tw.Write(f.Data); err != nil {
			return nil, fmt.Errorf("tar %s: %w", name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// WriteDir writes the files under dir, which must not exist or be empty.
func (b *Bundle) WriteDir(dir string) error {
	made := map[string]bool{}
	for _, f := range b.Files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if d := filepath.Dir(p); !made[d] {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return err
			}
			made[d] = true
		}
		if err := os.WriteFile(p, f.Data, f.Mode.Perm()); err != nil {
			return err
		}
		// WriteFile honours the umask; the modes are part of the output.
		if err := os.Chmod(p, f.Mode.Perm()); err != nil {
			return err
		}
	}
	return nil
}

// NarHash is the narHash Nix records for the unpacked tarball: the SRI SHA-256
// of the NAR of its top-level folder, the files with their modes.
func (b *Bundle) NarHash() (string, error) {
	files := make([]nar.File, len(b.Files))
	for i, f := range b.Files {
		// Nix keeps one executable bit: the owner's.
		files[i] = nar.File{Path: f.Path, Data: f.Data, Executable: f.Mode.Perm()&0o100 != 0}
	}
	return nar.Hash(files)
}

// Index returns the names offered on system with their shards, read from the
// files as lib.nix reads them: every name but the system's absent ones, or
// the system-less ones for a system the bundle does not know.
func (b *Bundle) Index(system string) (map[string]int, error) {
	file := func(path string, v any) error {
		i, found := slices.BinarySearchFunc(b.Files, path, func(f File, p string) int { return strings.Compare(f.Path, p) })
		if !found {
			return fmt.Errorf("bundle has no %s", path)
		}
		if err := json.Unmarshal(b.Files[i].Data, v); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return nil
	}
	var index map[string]int
	var absent []string
	err := file("data/index/absent/"+system+".json", &absent)
	if err != nil {
		return index, file("data/index/any.json", &index)
	}
	if err := file("data/index/all.json", &index); err != nil {
		return nil, err
	}
	for _, n := range absent {
		delete(index, n)
	}
	return index, nil
}
