package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// publishPages publishes the pins of cache in pages mode, as a Pages workflow
// does, and unpacks the artifact into served, which is what GitHub Pages would
// serve at siteURL: the cells then read the site from the artifact, not from
// --out. It returns an error when there is no site to serve; it reports, and
// goes on, when the artifact is not exactly the site or dir mode writes
// another site, so that the cells show what that breaks.
func publishPages(ctx context.Context, t *testing.T, srv *servers, cache, upstream, siteURL, served string) error {
	work := t.TempDir()
	out := filepath.Join(work, "site")
	args := func(mode, out string) []string {
		return []string{
			"--cache", cache, "--cachix-url", srv.cachix.URL(), "--mode", mode,
			"--repo", "cpr-e2e/" + cache, "--pages-url", siteURL + "/", "--out", out, "--upstream", upstream,
		}
	}
	if _, err := runCLI(ctx, t, srv.cli, args("pages", out)...); err != nil {
		return err
	}
	// No --artifact: the default is OUT-artifact/artifact.tar beside the site,
	// named as GitHub Pages expects.
	artifact := filepath.Join(out+"-artifact", "artifact.tar")
	if err := unpackArtifact(artifact, served); err != nil {
		return fmt.Errorf("the Pages artifact %s: %w", artifact, err)
	}
	if err := checkSite(served); err != nil {
		t.Errorf("the unpacked Pages artifact: %v", err)
	}
	if _, err := os.Stat(filepath.Join(served, "index.html")); err != nil {
		t.Errorf("the unpacked Pages artifact has no index page: %v", err)
	}
	if err := sameTree(served, out); err != nil {
		t.Errorf("the Pages artifact is not the site written to --out: %v", err)
	}
	// dir mode writes the same site.
	dirOut := filepath.Join(work, "dir-site")
	if _, err := runCLI(ctx, t, srv.cli, args("dir", dirOut)...); err != nil {
		t.Error(err)
	} else if err := sameSite(served, dirOut); err != nil {
		t.Errorf("--mode dir and --mode pages wrote different sites: %v", err)
	}
	return nil
}

// unpackArtifact extracts a Pages artifact into dir, which must not exist,
// checking it as Pages does: an uncompressed tar whose members are "./" and
// what lies under it, regular files and folders only.
func unpackArtifact(artifact, dir string) error {
	f, err := os.Open(artifact)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	tr := tar.NewReader(f)
	var names []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("not a tar: %w", err)
		}
		names = append(names, h.Name)
		rel, ok := strings.CutPrefix(h.Name, "./")
		if !ok {
			return fmt.Errorf("member %q: want a name starting with ./, as upload-pages-artifact makes", h.Name)
		}
		clean := strings.TrimSuffix(rel, "/")
		if clean != "" && (!fs.ValidPath(clean) || strings.Contains(clean, "\\")) {
			return fmt.Errorf("member %q: not a plain relative path", h.Name)
		}
		target := filepath.Join(dir, filepath.FromSlash(clean))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if h.Mode&^0o777 != 0 {
				return fmt.Errorf("member %q: mode %o", h.Name, h.Mode)
			}
			// Members come sorted, each folder before what it holds.
			w, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err != nil {
				return fmt.Errorf("member %q: %w", h.Name, err)
			}
			_, err = io.Copy(w, tr)
			if cerr := w.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		default:
			// Pages refuses links and special files.
			return fmt.Errorf("member %q has type %q: Pages deploys regular files and folders only", h.Name, h.Typeflag)
		}
	}
	if len(names) == 0 || names[0] != "./" {
		return fmt.Errorf("want ./ as the first member, got %q", names[:min(len(names), 1)])
	}
	return nil
}

// readTree reads every regular file under dir, by slash-separated relative
// path; anything else but folders is an error.
func readTree(dir string) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file", p)
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = data
		return err
	})
	return files, err
}

// sameTree checks that folders a and b hold the same files, byte for byte.
func sameTree(a, b string) error { return sameTreeMasked(a, b, nil) }

// sameTreeMasked is sameTree with mask applied to each file's bytes first.
func sameTreeMasked(a, b string, mask func(name string, data []byte) []byte) error {
	fa, err := readTree(a)
	if err != nil {
		return err
	}
	fb, err := readTree(b)
	if err != nil {
		return err
	}
	for _, f := range []map[string][]byte{fa, fb} {
		for name, data := range f {
			if mask != nil {
				f[name] = mask(name, data)
			}
		}
	}
	return sameFiles(fa, fb, a, b)
}

// verifiedTime matches a pin's verdict time in pins.json.
var verifiedTime = regexp.MustCompile(`"verified":"[^"]*"`)

// sameSite is sameTree for the sites of two runs: pins.json records when
// each run walked the closures, which may be another second, so those
// times are left out of the comparison.
func sameSite(a, b string) error {
	return sameTreeMasked(a, b, func(name string, data []byte) []byte {
		if name != "pins.json" {
			return data
		}
		return verifiedTime.ReplaceAll(data, []byte(`"verified":"…"`))
	})
}

func sameFiles(fa, fb map[string][]byte, a, b string) error {
	var diffs []string
	for _, name := range slices.Sorted(maps.Keys(fa)) {
		db, ok := fb[name]
		switch {
		case !ok:
			diffs = append(diffs, name+": only in "+a)
		case !bytes.Equal(fa[name], db):
			diffs = append(diffs, name+": differs")
		}
	}
	for _, name := range slices.Sorted(maps.Keys(fb)) {
		if _, ok := fa[name]; !ok {
			diffs = append(diffs, name+": only in "+b)
		}
	}
	if len(diffs) > 0 {
		return errors.New(strings.Join(diffs, "; "))
	}
	return nil
}
