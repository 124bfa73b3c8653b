package kept

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/kwbauson/create-pin-refs/pkg/nar"
)

// verify checks that a tarball unpacks, as Nix unpacks it, to a folder whose
// NAR hash is narHash: one top-level folder of regular files and folders, at
// most limit bytes of content.
func verify(tgz []byte, narHash string, limit int64) error {
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		return fmt.Errorf("not a gzip tarball: %w", err)
	}
	tr := tar.NewReader(zr)
	var files []nar.File
	top := ""
	var total int64
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("not a gzip tarball: %w", err)
		}
		name := strings.TrimPrefix(h.Name, "./")
		first, rest, _ := strings.Cut(strings.TrimSuffix(name, "/"), "/")
		if top == "" {
			top = first
		}
		if first != top || first == "" {
			return fmt.Errorf("member %q: want one top-level folder, as Nix unpacks it", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
		case tar.TypeReg:
			if rest == "" {
				return fmt.Errorf("member %q: a file at the top level", h.Name)
			}
			total += h.Size
			if total > limit {
				return fmt.Errorf("unpacks to more than %d bytes: %w", limit, ErrTooLarge)
			}
			// Its size is known, and within limit: read into a buffer of it.
			data := make([]byte, h.Size)
			if _, err := io.ReadFull(tr, data); err != nil {
				return err
			}
			files = append(files, nar.File{Path: rest, Data: data, Executable: h.Mode&0o100 != 0})
		default:
			return fmt.Errorf("member %q has type %q; bundles hold files and folders only", h.Name, h.Typeflag)
		}
	}
	got, err := nar.Hash(files)
	if err != nil {
		return err
	}
	if got != narHash {
		return fmt.Errorf("unpacks to narHash %s, but was published as %s", got, narHash)
	}
	return nil
}
