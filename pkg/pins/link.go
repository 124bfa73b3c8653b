package pins

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// maxLinks bounds a chain of symlinks, as the kernel does (ELOOP).
const maxLinks = 40

// ErrNotStorePath: a path is neither a store path nor a symlink leading to one.
var ErrNotStorePath = errors.New("not a store path nor a symlink to one")

// ReadStoreLink returns the store path that p names: p itself when it is in
// the store, else the end of its chain of symlinks, such as the `result` link
// of `nix build`. Links are read, never followed into the store, so the store
// need not exist here (as in a container that sees only the workspace). A
// path inside a store path gives that store path.
func ReadStoreLink(p string) (string, error) {
	// Clean, so that result/ is the link, not the folder it leads to.
	cur := filepath.Clean(p)
	for range maxLinks {
		if rest, ok := strings.CutPrefix(filepath.Clean(cur), StoreDir+"/"); ok {
			top, _, _ := strings.Cut(rest, "/")
			sp := StoreDir + "/" + top
			if err := ValidateStorePath(sp); err != nil {
				return "", fmt.Errorf("%s leads to %s: %w", p, cur, err)
			}
			return sp, nil
		}
		fi, err := os.Lstat(cur)
		if err != nil {
			return "", fmt.Errorf("%s: %w", p, err)
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			if cur == filepath.Clean(p) {
				return "", fmt.Errorf("%s: %w (give the store path, or the result link of nix build)", p, ErrNotStorePath)
			}
			return "", fmt.Errorf("%s leads to %s: %w", p, cur, ErrNotStorePath)
		}
		target, err := os.Readlink(cur)
		if err != nil {
			return "", fmt.Errorf("%s: %w", p, err)
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(cur), target)
		}
		cur = target
	}
	return "", fmt.Errorf("%s: more than %d symlinks in a row", p, maxLinks)
}
