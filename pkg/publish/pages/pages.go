// Package pages publishes the site through GitHub Pages: it writes the artifact
// that actions/deploy-pages takes and says where the pins will be served.
package pages

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/kwbauson/create-pin-refs/pkg/ghrepo"
	"github.com/kwbauson/create-pin-refs/pkg/paths"
	"github.com/kwbauson/create-pin-refs/pkg/site"
	"github.com/kwbauson/create-pin-refs/pkg/weburl"
)

// mtimeUnix is every member's mtime, fixed so that the same site gives the same
// bytes. Pages serves files with the deployment's time whatever the artifact says
// (actions/deploy-pages#396), so HTTP validators still change on every deployment.
const mtimeUnix = 1

// Stats counts what went into an artifact.
type Stats struct {
	// Files is the number of regular files.
	Files int
	// Folders is the number of folders, the root "./" included.
	Folders int
	// Bytes is the total size of the files' content (not of the tar).
	Bytes int64
}

// WriteArtifact writes siteDir as the tar that actions/upload-pages-artifact makes,
// `tar --dereference --hard-dereference -cf ARTIFACT --exclude=.git --exclude=.github
// -C DIR .`, but deterministic: members sorted by name, fixed mtime, modes 0644 or
// 0755, owner 0 without names. Symbolic links are replaced by what they point at,
// which must be inside siteDir; any other special file is an error, since Pages
// deploys regular files and folders only. The file appears atomically.
func WriteArtifact(ctx context.Context, siteDir, artifactPath string) (Stats, error) {
	return WriteArtifactFrom(ctx, siteDir, artifactPath, nil, "")
}

// WriteArtifactFrom is WriteArtifact for a site whose files were just written
// from written (their contents by slash path in siteDir): a regular file there
// of the same size is taken from memory rather than read back. A 10,000-pin
// site is 15,000 files, and reading them costs more than packing them. skip,
// if not empty, is an entry of siteDir left out: the staging folder that holds
// the previous site until the artifact is in place (site.Pending). A failure
// to write the artifact file itself is a *FileError; the previous artifact is
// then left as it was.
func WriteArtifactFrom(ctx context.Context, siteDir, artifactPath string, written map[string][]byte, skip string) (Stats, error) {
	root, err := filepath.Abs(siteDir)
	if err != nil {
		return Stats{}, err
	}
	if root, err = filepath.EvalSymlinks(root); err != nil {
		return Stats{}, fmt.Errorf("site folder: %w", err)
	}
	if fi, err := os.Stat(root); err != nil {
		return Stats{}, fmt.Errorf("site folder: %w", err)
	} else if !fi.IsDir() {
		return Stats{}, fmt.Errorf("site folder %s is not a folder", siteDir)
	}
	artifact, err := filepath.Abs(artifactPath)
	if err != nil {
		return Stats{}, err
	}
	if realArtifact, err := paths.Real(artifact); err != nil {
		return Stats{}, &FileError{Path: artifactPath, Err: err}
	} else if paths.Within(root, realArtifact) {
		return Stats{}, fmt.Errorf("artifact %s is inside the site folder %s, so it would pack itself; write it elsewhere (such as _site-artifact/artifact.tar beside the site, the default)", artifactPath, siteDir)
	}

	dir := filepath.Dir(artifact)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Stats{}, &FileError{Path: artifactPath, Err: err}
	}
	// Written beside its path, then renamed: the previous artifact stays
	// whole until the new one is.
	f, err := os.CreateTemp(dir, ".artifact-*.tar")
	if err != nil {
		return Stats{}, &FileError{Path: artifactPath, Err: err}
	}
	defer os.Remove(f.Name())
	bw := bufio.NewWriterSize(f, 1<<20)
	w := &archiver{ctx: ctx, root: root, tw: tar.NewWriter(bw), written: written, skip: skip}
	err = w.dir(root, ".", nil)
	if err == nil {
		err = w.tw.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Chmod(0o644)
	}
	// No fsync: the rename alone keeps readers from seeing half an artifact, and
	// the artifact lives for the job that uploads it; a crash of the machine ends
	// that job anyway. Syncing 50 MB (100,000 pins) cost seconds of wall time on
	// a busy disk (BENCHMARKS.md, pages against dir mode).
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if pe := (*fs.PathError)(nil); errors.As(err, &pe) && pe.Path == f.Name() {
		// The artifact's own file failed (a full disk), not the site.
		return Stats{}, &FileError{Path: artifactPath, Err: err}
	}
	if err != nil {
		return Stats{}, err
	}
	if err := os.Rename(f.Name(), artifact); err != nil {
		return Stats{}, &FileError{Path: artifactPath, Err: err}
	}
	return w.stats, nil
}

// FileError is a failure to create, write or put in place the artifact's
// file at Path, as opposed to reading the site.
type FileError struct {
	Path string
	Err  error
}

func (e *FileError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

// excluded mirrors --exclude=.git --exclude=.github: tar matches such a pattern
// against the last component of every member, at any depth, whatever its type.
func excluded(name string) bool {
	return name == ".git" || name == ".github"
}

type archiver struct {
	ctx     context.Context
	root    string
	tw      *tar.Writer
	stats   Stats
	written map[string][]byte // see WriteArtifactFrom
	skip    string            // an entry of the root left out, see WriteArtifactFrom
}

// dir writes the folder at real path p as member name, then its entries in
// name order. ancestors holds the real paths of the folders being written, so
// that a link back to one of them is reported instead of followed forever.
func (a *archiver) dir(p, name string, ancestors []string) error {
	for _, anc := range ancestors {
		if anc == p {
			return fmt.Errorf("%s: a symbolic link loops back to %s; remove the link", display(name), display(relTo(a.root, anc)))
		}
	}
	ancestors = append(ancestors, p)
	if err := a.header(name+"/", tar.TypeDir, 0o755, 0); err != nil {
		return err
	}
	a.stats.Folders++
	entries, err := os.ReadDir(p) // sorted by name, bytewise
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := a.ctx.Err(); err != nil {
			return err
		}
		if excluded(e.Name()) || (name == "." && e.Name() == a.skip) {
			continue
		}
		if err := a.entry(filepath.Join(p, e.Name()), path.Join(name, e.Name()), ancestors); err != nil {
			return err
		}
	}
	return nil
}

// entry writes the file or folder at p (a path under a real folder) as member name.
func (a *archiver) entry(p, name string, ancestors []string) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	link := fi.Mode()&fs.ModeSymlink != 0
	if link {
		target, err := filepath.EvalSymlinks(p)
		if err != nil {
			// Dangling links and loops between links end here.
			return fmt.Errorf("%s: symbolic link cannot be followed: %w", display(name), err)
		}
		if !paths.Within(a.root, target) {
			return fmt.Errorf("%s: symbolic link points outside the site folder, to %s; copy the file into the site instead", display(name), target)
		}
		if fi, err = os.Stat(target); err != nil {
			return err
		}
		p = target
	}
	switch {
	case fi.IsDir():
		return a.dir(p, name, ancestors)
	case fi.Mode().IsRegular():
		if data, ok := a.written[name]; ok && !link && int64(len(data)) == fi.Size() {
			return a.known(name, fi, data)
		}
		return a.file(p, name, fi)
	default:
		return fmt.Errorf("%s: %s, but Pages deploys regular files and folders only; remove it from the site", display(name), kind(fi.Mode()))
	}
}

// mode is a file's mode in the artifact: executable means executable by its
// owner, as git decides.
func mode(fi fs.FileInfo) int64 {
	if fi.Mode().Perm()&0o100 != 0 {
		return 0o755
	}
	return 0o644
}

// known writes the file name, which holds data.
func (a *archiver) known(name string, fi fs.FileInfo, data []byte) error {
	if err := a.header(name, tar.TypeReg, mode(fi), int64(len(data))); err != nil {
		return err
	}
	if _, err := a.tw.Write(data); err != nil {
		return fmt.Errorf("%s: %w", display(name), err)
	}
	a.stats.Files++
	a.stats.Bytes += int64(len(data))
	return nil
}

func (a *archiver) file(p, name string, fi fs.FileInfo) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := a.header(name, tar.TypeReg, mode(fi), fi.Size()); err != nil {
		return err
	}
	// Exactly the size in the header: a file that changes meanwhile fails here
	// rather than corrupting the archive.
	if _, err := io.CopyN(a.tw, f, fi.Size()); err != nil {
		return fmt.Errorf("%s: %w", display(name), err)
	}
	a.stats.Files++
	a.stats.Bytes += fi.Size()
	return nil
}

func (a *archiver) header(name string, typ byte, mode, size int64) error {
	// GNU format, as GNU tar writes for upload-pages-artifact; it takes names of
	// any length.
	hdr := &tar.Header{
		Typeflag: typ,
		Name:     "./" + strings.TrimPrefix(name, "./"),
		Mode:     mode,
		Size:     size,
		ModTime:  time.Unix(mtimeUnix, 0),
		Format:   tar.FormatGNU,
	}
	if err := a.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("%s: %w", display(name), err)
	}
	return nil
}

func relTo(root, p string) string {
	rel, err := filepath.Rel(root, p)
	if err != nil {
		return p
	}
	return filepath.ToSlash(rel)
}

// display names a member as the user sees it in the site folder.
func display(name string) string {
	if name == "." || name == "./" {
		return "the site folder"
	}
	return fmt.Sprintf("%q", strings.TrimPrefix(name, "./"))
}

func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	default:
		return "a special file (" + m.Type().String() + ")"
	}
}

// PagesURL returns the URL the pins tarball will be served at: pagesURL (the
// site's base URL) joined with "pins" when given, else the default address of
// repository's Pages site.
func PagesURL(repository, pagesURL string) (string, error) {
	if pagesURL != "" {
		if _, err := weburl.Parse(pagesURL); err != nil {
			return "", &URLError{Option: "pages-url", Err: fmt.Errorf("%w; want the site's base URL, such as https://pins.example.org/ or https://OWNER.github.io/REPO/", err)}
		}
		return strings.TrimRight(pagesURL, "/") + "/" + site.Tarball, nil
	}
	owner, repo, err := ghrepo.Split(repository)
	if err != nil {
		what := fmt.Sprintf("%q is not OWNER/REPO", repository)
		if repository == "" {
			what = "empty"
		}
		return "", &URLError{Option: "repo", Err: fmt.Errorf("%s: want the repository whose Pages site serves the pins, such as octo/pins (GITHUB_REPOSITORY inside Actions), or give the site's URL", what)}
	}
	// Pages host names are lower case; paths keep the repository's spelling.
	host := strings.ToLower(owner) + ".github.io"
	if strings.EqualFold(repo, host) {
		// A user or organisation site is served from the root.
		return "https://" + host + "/" + site.Tarball, nil
	}
	return "https://" + host + "/" + repo + "/" + site.Tarball, nil
}

// URLError says which setting kept PagesURL from making the URL: "pages-url"
// or "repo"; the command line names its flag.
type URLError struct {
	Option string
	Err    error
}

func (e *URLError) Error() string { return e.Option + ": " + e.Err.Error() }
func (e *URLError) Unwrap() error { return e.Err }
