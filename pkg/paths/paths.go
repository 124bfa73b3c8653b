// Package paths answers where a path really is: its absolute form with the
// symbolic links of its existing part resolved, and whether it lies inside a
// folder. The configuration and the Pages artifact writer share it.
package paths

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
)

// Real returns p made absolute, with the symbolic links in its longest
// existing prefix resolved, so that a path reaching somewhere through a link
// is seen where it lands.
func Real(p string) (string, error) {
	p, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	var rest []string
	for {
		real, err := filepath.EvalSymlinks(p)
		if err == nil {
			return filepath.Join(append([]string{real}, rest...)...), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(p)
		if parent == p {
			return "", err
		}
		rest = append([]string{filepath.Base(p)}, rest...)
		p = parent
	}
}

// Within reports whether p is root or below it; both are clean absolute paths.
func Within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
