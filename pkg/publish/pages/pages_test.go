package pages

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// member is what a test checks of one tar member.
type member struct {
	Name    string
	Type    byte
	Mode    int64
	Content string
}

func reg(name, content string) member { return member{"./" + name, tar.TypeReg, 0o644, content} }
func exe(name, content string) member { return member{"./" + name, tar.TypeReg, 0o755, content} }
func dir(name string) member {
	if name != "" {
		name += "/"
	}
	return member{"./" + name, tar.TypeDir, 0o755, ""}
}

// write creates files under root: a name ending in "/" is a folder, content
// starting with "->" a symbolic link, and mode 0 means 0644.
func write(t *testing.T, root string, files ...file) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f.name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case strings.HasSuffix(f.name, "/"):
			err = os.MkdirAll(p, 0o755)
		case strings.HasPrefix(f.content, "->"):
			err = os.Symlink(filepath.FromSlash(strings.TrimPrefix(f.content, "->")), p)
		default:
			err = os.WriteFile(p, []byte(f.content), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
		if f.mode != 0 {
			if err := os.Chmod(p, f.mode); err != nil {
				t.Fatal(err)
			}
		}
	}
}

type file struct {
	name    string
	content string
	mode    fs.FileMode
}

// siteFiles is a site as site.Write and the index page leave it.
var siteFiles = []file{
	{name: "pins", content: "tarball"},
	{name: "pins.tar.gz", content: "tarball"},
	{name: "pins.json", content: `{"format":1}`},
	{name: "index.html", content: "<!DOCTYPE html>"},
	{name: "bundle/default.nix", content: "{ }: { }"},
	{name: "bundle/data/meta.json", content: "{}"},
	{name: "bundle/data/shards/0.json", content: "{}"},
}

var siteMembers = []member{
	dir(""),
	dir("bundle"),
	dir("bundle/data"),
	reg("bundle/data/meta.json", "{}"),
	dir("bundle/data/shards"),
	reg("bundle/data/shards/0.json", "{}"),
	reg("bundle/default.nix", "{ }: { }"),
	reg("index.html", "<!DOCTYPE html>"),
	reg("pins", "tarball"),
	reg("pins.json", `{"format":1}`),
	reg("pins.tar.gz", "tarball"),
}

// readTar returns the members of the tar at path, checking what every member
// must share: no owner, the fixed time, GNU format.
func readTar(t *testing.T, path string) []member {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	var got []member
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Uid != 0 || hdr.Gid != 0 || hdr.Uname != "" || hdr.Gname != "" {
			t.Errorf("%s: owner %d:%d %q:%q, want 0:0 without names", hdr.Name, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname)
		}
		if !hdr.ModTime.Equal(time.Unix(1, 0)) {
			t.Errorf("%s: mtime %v, want the fixed one", hdr.Name, hdr.ModTime)
		}
		if hdr.Format != tar.FormatGNU {
			t.Errorf("%s: format %v, want GNU", hdr.Name, hdr.Format)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(data)) != hdr.Size {
			t.Errorf("%s: %d bytes, header says %d", hdr.Name, len(data), hdr.Size)
		}
		got = append(got, member{hdr.Name, hdr.Typeflag, hdr.Mode, string(data)})
	}
	return got
}

func TestWriteArtifact(t *testing.T) {
	longDir := strings.Repeat("d", 120)
	tests := []struct {
		name  string
		files []file
		// setup runs after files are written, for what write cannot express.
		setup func(t *testing.T, root string)
		want  []member
	}{
		{
			name:  "site",
			files: siteFiles,
			want:  siteMembers,
		},
		{
			name: "symlink to a file inside is stored as the file",
			files: []file{
				{name: "pins", content: "tarball"},
				{name: "latest", content: "->pins"},
				{name: "sub/up", content: "->../pins"},
			},
			want: []member{dir(""), reg("latest", "tarball"), reg("pins", "tarball"), dir("sub"), reg("sub/up", "tarball")},
		},
		{
			name: "symlink to a folder inside is stored as the folder",
			files: []file{
				{name: "bundle/flake.nix", content: "{ }"},
				{name: "current", content: "->bundle"},
			},
			want: []member{dir(""), dir("bundle"), reg("bundle/flake.nix", "{ }"), dir("current"), reg("current/flake.nix", "{ }")},
		},
		{
			name:  "hard link is stored as a regular file",
			files: []file{{name: "pins", content: "tarball"}},
			setup: func(t *testing.T, root string) {
				if err := os.Link(filepath.Join(root, "pins"), filepath.Join(root, "pins.tar.gz")); err != nil {
					t.Skip("no hard links here:", err)
				}
			},
			want: []member{dir(""), reg("pins", "tarball"), reg("pins.tar.gz", "tarball")},
		},
		{
			name: ".git and .github are left out at any depth",
			files: []file{
				{name: ".git/config", content: "x"},
				{name: ".github/workflows/ci.yml", content: "x"},
				{name: "bundle/.git", content: "gitdir: elsewhere"},
				{name: "bundle/.github/", content: ""},
				{name: "bundle/x.git", content: "kept"},
				{name: ".gitignore", content: "kept"},
				{name: ".nojekyll", content: ""},
			},
			want: []member{dir(""), reg(".gitignore", "kept"), reg(".nojekyll", ""), dir("bundle"), reg("bundle/x.git", "kept")},
		},
		{
			name: "modes are normalised",
			files: []file{
				{name: "private", content: "p", mode: 0o600},
				{name: "tool", content: "#!/bin/sh", mode: 0o700},
				{name: "group-exec", content: "g", mode: 0o654},
				{name: "locked/", mode: 0o700},
				{name: "locked/f", content: "f", mode: 0o400},
			},
			want: []member{dir(""), reg("group-exec", "g"), dir("locked"), reg("locked/f", "f"), reg("private", "p"), exe("tool", "#!/bin/sh")},
		},
		{
			name: "sorted bytewise, names of any length and script",
			files: []file{
				{name: "b", content: "1"},
				{name: "B", content: "2"},
				{name: "a-b", content: "3"},
				{name: "a/b", content: "4"},
				{name: "é🚀", content: "5"},
				{name: longDir + "/" + strings.Repeat("f", 120), content: "6"},
			},
			want: []member{
				dir(""), reg("B", "2"), dir("a"), reg("a/b", "4"), reg("a-b", "3"), reg("b", "1"),
				dir(longDir), reg(longDir+"/"+strings.Repeat("f", 120), "6"), reg("é🚀", "5"),
			},
		},
		{
			name: "empty site",
			want: []member{dir("")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			write(t, root, tt.files...)
			if tt.setup != nil {
				tt.setup(t, root)
			}
			// A folder that does not exist yet: WriteArtifact creates it.
			artifact := filepath.Join(t.TempDir(), "runner", "temp", "artifact.tar")
			stats, err := WriteArtifact(context.Background(), root, artifact)
			if err != nil {
				t.Fatal(err)
			}
			got := readTar(t, artifact)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("members (-want +got):\n%s", diff)
			}
			var want Stats
			for _, m := range tt.want {
				if m.Type == tar.TypeDir {
					want.Folders++
				} else {
					want.Files++
					want.Bytes += int64(len(m.Content))
				}
			}
			if stats != want {
				t.Errorf("stats %+v, want %+v", stats, want)
			}
			if fi, err := os.Stat(artifact); err != nil || fi.Mode().Perm() != 0o644 {
				t.Errorf("artifact mode: %v %v, want 0644", fi.Mode(), err)
			}
			entries, _ := os.ReadDir(filepath.Dir(artifact))
			if len(entries) != 1 {
				t.Errorf("temporary files left beside the artifact: %v", entries)
			}
			checkWithTar(t, root, artifact, tt.want)
		})
	}
}

// checkWithTar lists and unpacks the artifact with the tar program, as the Pages
// deployment does, when there is one.
func checkWithTar(t *testing.T, root, artifact string, want []member) {
	t.Helper()
	bin, err := exec.LookPath("tar")
	if err != nil {
		t.Log("no tar program; skipping the interoperability check")
		return
	}
	out, err := exec.Command(bin, "-tvf", artifact).CombinedOutput()
	if err != nil {
		t.Fatalf("tar -tvf: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(want) {
		t.Errorf("tar -tvf lists %d members, want %d:\n%s", len(lines), len(want), out)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "-") && !strings.HasPrefix(l, "d") {
			t.Errorf("tar -tvf: %q is neither a regular file nor a folder", l)
		}
	}
	dest := t.TempDir()
	if out, err := exec.Command(bin, "-xf", artifact, "-C", dest).CombinedOutput(); err != nil {
		t.Fatalf("tar -xf: %v\n%s", err, out)
	}
	if diff := cmp.Diff(tree(t, root), tree(t, dest)); diff != "" {
		t.Errorf("unpacked artifact differs from the site (-site +unpacked):\n%s", diff)
	}
}

// tree maps the slash paths under root to content ("/" for folders), following
// symbolic links and leaving out .git and .github.
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	var walk func(p, name string)
	walk = func(p, name string) {
		entries, err := os.ReadDir(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if excluded(e.Name()) {
				continue
			}
			q, n := filepath.Join(p, e.Name()), name+e.Name()
			fi, err := os.Stat(q)
			if err != nil {
				t.Fatal(err)
			}
			if fi.IsDir() {
				out[n] = "/"
				walk(q, n+"/")
				continue
			}
			data, err := os.ReadFile(q)
			if err != nil {
				t.Fatal(err)
			}
			out[n] = string(data)
		}
	}
	walk(root, "")
	return out
}

func TestWriteArtifactErrors(t *testing.T) {
	tests := []struct {
		name  string
		files []file
		// artifact is relative to the site folder; empty means a fresh temp dir.
		artifact string
		ctx      func() context.Context
		want     string
	}{
		{
			name:  "symlink pointing outside",
			files: []file{{name: "pins", content: "->/etc/hostname"}},
			want:  `"pins": symbolic link points outside the site folder`,
		},
		{
			name:  "relative symlink escaping",
			files: []file{{name: "bundle/x", content: "->../.."}},
			want:  `"bundle/x": symbolic link points outside the site folder`,
		},
		{
			name:  "dangling symlink",
			files: []file{{name: "pins", content: "->missing"}},
			want:  `"pins": symbolic link cannot be followed`,
		},
		{
			name:  "symlink loop",
			files: []file{{name: "a", content: "->b"}, {name: "b", content: "->a"}},
			want:  `"a": symbolic link cannot be followed`,
		},
		{
			name:  "folder link back to an ancestor",
			files: []file{{name: "bundle/data/up", content: "->../.."}},
			want:  `"bundle/data/up": a symbolic link loops back to the site folder`,
		},
		{
			name:  "folder links chasing each other",
			files: []file{{name: "a/to-b", content: "->../b"}, {name: "b/to-a", content: "->../a"}},
			want:  `"a/to-b/to-a": a symbolic link loops back to "a"`,
		},
		{
			name:     "artifact inside the site",
			files:    siteFiles,
			artifact: "artifact.tar",
			want:     "inside the site folder",
		},
		{
			name:     "artifact inside an excluded folder of the site",
			files:    []file{{name: ".git/", content: ""}},
			artifact: ".git/new/artifact.tar",
			want:     "inside the site folder",
		},
		{
			name:  "canceled",
			files: siteFiles,
			ctx: func() context.Context {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx
			},
			want: context.Canceled.Error(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "site")
			write(t, root, tt.files...)
			if err := os.MkdirAll(root, 0o755); err != nil {
				t.Fatal(err)
			}
			outDir := t.TempDir()
			artifact := filepath.Join(outDir, "artifact.tar")
			if tt.artifact != "" {
				artifact = filepath.Join(root, filepath.FromSlash(tt.artifact))
			}
			ctx := context.Background()
			if tt.ctx != nil {
				ctx = tt.ctx()
			}
			_, err := WriteArtifact(ctx, root, artifact)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
			if _, err := os.Stat(artifact); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("artifact written despite the error: %v", err)
			}
			if entries, _ := os.ReadDir(outDir); len(entries) != 0 {
				t.Errorf("temporary files left: %v", entries)
			}
		})
	}
}

func TestWriteArtifactThroughLinks(t *testing.T) {
	// The site folder and the artifact's folder reached through links.
	base := t.TempDir()
	write(t, base, append([]file{{name: "link", content: "->real"}}, prefixed("real/", siteFiles)...)...)
	if _, err := WriteArtifact(context.Background(), filepath.Join(base, "link"), filepath.Join(base, "link", "a.tar")); err == nil || !strings.Contains(err.Error(), "inside the site folder") {
		t.Errorf("artifact inside the site through a link: error %v, want inside the site folder", err)
	}
	artifact := filepath.Join(t.TempDir(), "a.tar")
	if _, err := WriteArtifact(context.Background(), filepath.Join(base, "link"), artifact); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(siteMembers, readTar(t, artifact)); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
}

func TestWriteArtifactNotAFolder(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, file{name: "f", content: "x"})
	for _, site := range []string{filepath.Join(dir, "f"), filepath.Join(dir, "missing")} {
		if _, err := WriteArtifact(context.Background(), site, filepath.Join(t.TempDir(), "a.tar")); err == nil {
			t.Errorf("WriteArtifact(%s): no error", site)
		}
	}
}

func prefixed(prefix string, files []file) []file {
	out := make([]file, len(files))
	for i, f := range files {
		f.name = prefix + f.name
		out[i] = f
	}
	return out
}

func TestWriteArtifactDeterministic(t *testing.T) {
	// Two copies of one site made differently: other creation order, times and
	// permission bits that do not matter.
	a, b := t.TempDir(), t.TempDir()
	write(t, a, siteFiles...)
	reversed := make([]file, len(siteFiles))
	for i, f := range siteFiles {
		f.mode = 0o664
		reversed[len(siteFiles)-1-i] = f
	}
	write(t, b, reversed...)
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(b, "pins"), old, old); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	var tars [][]byte
	for i, site := range []string{a, a, b} {
		p := filepath.Join(out, string(rune('0'+i))+".tar")
		if _, err := WriteArtifact(context.Background(), site, p); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		tars = append(tars, data)
	}
	if !bytes.Equal(tars[0], tars[1]) {
		t.Error("two runs on one site differ")
	}
	if !bytes.Equal(tars[0], tars[2]) {
		t.Error("two equal sites made differently give different artifacts")
	}
}

func TestWriteArtifactReplaces(t *testing.T) {
	site := t.TempDir()
	write(t, site, siteFiles...)
	artifact := filepath.Join(t.TempDir(), "artifact.tar")
	if err := os.WriteFile(artifact, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteArtifact(context.Background(), site, artifact); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(siteMembers, readTar(t, artifact)); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
}

// TestWriteArtifactSkips: the entry skip of the site folder (the staging
// folder holding the previous site) is left out, and only there.
func TestWriteArtifactSkips(t *testing.T) {
	root := t.TempDir()
	write(t, root,
		file{name: "pins", content: "new"},
		file{name: ".staging-1/old/pins", content: "old"},
		file{name: "bundle/.staging-1", content: "kept"},
	)
	artifact := filepath.Join(t.TempDir(), "artifact.tar")
	if _, err := WriteArtifactFrom(context.Background(), root, artifact, nil, ".staging-1"); err != nil {
		t.Fatal(err)
	}
	want := []member{dir(""), dir("bundle"), reg("bundle/.staging-1", "kept"), reg("pins", "new")}
	if diff := cmp.Diff(want, readTar(t, artifact)); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
}

// TestWriteArtifactFileError: an artifact path that cannot take the file is
// a *FileError naming it, and the artifact there stays as it was.
func TestWriteArtifactFileError(t *testing.T) {
	for _, tt := range []struct {
		name    string
		prepare func(t *testing.T, dir string) string // returns the artifact path
	}{
		{"a folder", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "artifact.tar")
			write(t, p, file{name: "kept", content: "old"})
			return p
		}},
		{"below a file", func(t *testing.T, dir string) string {
			write(t, dir, file{name: "file", content: "old"})
			return filepath.Join(dir, "file", "artifact.tar")
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			site := t.TempDir()
			write(t, site, siteFiles...)
			dir := t.TempDir()
			artifact := tt.prepare(t, dir)
			before := snapshot(t, dir)
			_, err := WriteArtifact(context.Background(), site, artifact)
			var fe *FileError
			if !errors.As(err, &fe) || fe.Path != artifact || !strings.Contains(err.Error(), artifact) {
				t.Fatalf("error %v, want a *FileError naming %s", err, artifact)
			}
			if diff := cmp.Diff(before, snapshot(t, dir)); diff != "" {
				t.Errorf("the failed write changed %s (-before +after):\n%s", dir, diff)
			}
		})
	}
}

// snapshot maps every path under dir to its content ("/" for a folder).
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			out[p] = "/"
			return err
		}
		data, err := os.ReadFile(p)
		out[p] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPagesURL(t *testing.T) {
	tests := []struct {
		name       string
		repository string
		pagesURL   string
		want       string
		wantErr    string
	}{
		{name: "project site", repository: "octo/pins", want: "https://octo.github.io/pins/pins"},
		{name: "owner lower-cased, repository kept", repository: "Octo-Org/My.Pins", want: "https://octo-org.github.io/My.Pins/pins"},
		{name: "user site", repository: "octo/octo.github.io", want: "https://octo.github.io/pins"},
		{name: "user site, other case", repository: "Octo/OCTO.GitHub.IO", want: "https://octo.github.io/pins"},
		{name: "another owner's site name is a project", repository: "octo/other.github.io", want: "https://octo.github.io/other.github.io/pins"},
		{name: "custom domain with slash", pagesURL: "https://pins.example.org/", want: "https://pins.example.org/pins"},
		{name: "custom domain without slash", pagesURL: "https://pins.example.org", want: "https://pins.example.org/pins"},
		{name: "project URL", pagesURL: "https://owner.github.io/repo", want: "https://owner.github.io/repo/pins"},
		{name: "many slashes", pagesURL: "https://owner.github.io/repo//", want: "https://owner.github.io/repo/pins"},
		{name: "pages URL wins", repository: "octo/pins", pagesURL: "http://localhost:8080/site/", want: "http://localhost:8080/site/pins"},
		{name: "empty", wantErr: "repo: empty"},
		{name: "no slash", repository: "octo", wantErr: `repo: "octo" is not OWNER/REPO`},
		{name: "extra slash", repository: "octo/pins/x", wantErr: "repo: "},
		{name: "leading slash", repository: "/pins", wantErr: "repo: "},
		{name: "trailing slash", repository: "octo/", wantErr: "repo: "},
		{name: "dot repo", repository: "octo/..", wantErr: "repo: "},
		{name: "space", repository: "octo/my pins", wantErr: "repo: "},
		{name: "owner starting with a hyphen", repository: "-octo/pins", wantErr: "repo: "},
		{name: "owner too long", repository: strings.Repeat("o", 40) + "/pins", wantErr: "repo: "},
		{name: "no scheme", pagesURL: "pins.example.org", wantErr: "pages-url: "},
		{name: "other scheme", pagesURL: "ftp://pins.example.org/", wantErr: "pages-url: "},
		{name: "query", pagesURL: "https://pins.example.org/?x=1", wantErr: "pages-url: "},
		{name: "empty query", pagesURL: "https://pins.example.org/?", wantErr: "pages-url: "},
		{name: "fragment", pagesURL: "https://pins.example.org/#top", wantErr: "pages-url: "},
		{name: "user info", pagesURL: "https://me:secret@pins.example.org/", wantErr: "pages-url: "},
		{name: "no host", pagesURL: "https:///site", wantErr: "pages-url: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PagesURL(tt.repository, tt.pagesURL)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("PagesURL(%q, %q) = %q, %v; want an error containing %q", tt.repository, tt.pagesURL, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("PagesURL(%q, %q) = %q, %v; want %q", tt.repository, tt.pagesURL, got, err, tt.want)
			}
		})
	}
}

// TestWriteArtifactFrom: a file the run just wrote is packed from memory
// (here bytes that differ from the disk's, to tell which was used); one of
// another size than in memory (changed since), one reached through a symbolic
// link and one not in memory are read from disk.
func TestWriteArtifactFrom(t *testing.T) {
	root := t.TempDir()
	write(t, root,
		file{name: "pins", content: "tarball"},
		file{name: "bundle/flake.nix", content: "{ }"},
		file{name: "latest", content: "->pins"},
		file{name: "CNAME", content: "pins.example.org"},
		file{name: "tool", content: "#!/bin/sh", mode: 0o700},
	)
	written := map[string][]byte{
		"pins":             []byte("TARBALL"),
		"bundle/flake.nix": []byte("{ } # changed since"),
		"latest":           []byte("LINKED!"),
		"tool":             []byte("#!/bin/SH"),
	}
	artifact := filepath.Join(t.TempDir(), "artifact.tar")
	stats, err := WriteArtifactFrom(context.Background(), root, artifact, written, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []member{
		dir(""), reg("CNAME", "pins.example.org"), dir("bundle"), reg("bundle/flake.nix", "{ }"),
		reg("latest", "tarball"), reg("pins", "TARBALL"), exe("tool", "#!/bin/SH"),
	}
	if diff := cmp.Diff(want, readTar(t, artifact)); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
	if stats.Files != 5 || stats.Bytes != int64(len("pins.example.org{ }tarballTARBALL#!/bin/SH")) {
		t.Errorf("stats %+v", stats)
	}
}
