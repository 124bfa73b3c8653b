package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kwbauson/create-pin-refs/pkg/site"
	"github.com/kwbauson/create-pin-refs/test/fakegithub"
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

// branchPublish is the bundle published to a branch of a local GitHub, whose
// bare repository the installation's Nix reads.
type branchPublish struct {
	gh   *fakegithub.Server
	args []string // the CLI's arguments
	out  string   // its --out
	git  string   // git+file:///REPO?ref=pins, as the installation's Nix names it
}

// publishBranch publishes the pins of cache in branch mode through the Git
// Data API of a local GitHub whose repository lives in in's filesystem, and
// checks the branch: one commit holding exactly the bundle and the marker.
// bundleDir is the bundle of the same pins as the site serves it. It returns
// an error only when there is no branch for the cells to read.
func publishBranch(ctx context.Context, t *testing.T, in *install, srv *servers, cache, upstream, bundleDir string) (*branchPublish, error) {
	if !fakegithub.HaveGit() {
		return nil, errors.New("the git program is needed for the local GitHub")
	}
	host, nix, err := in.newDir("github-")
	if err != nil {
		return nil, err
	}
	// Inside a chroot, the repository must be in the chroot's own filesystem.
	gh, err := fakegithub.Start(host, fakegithub.Options{Owner: "cpr-e2e", Repo: cache})
	if err != nil {
		return nil, err
	}
	t.Cleanup(gh.Close)
	rel, err := filepath.Rel(host, gh.GitDir)
	if err != nil {
		return nil, err
	}
	out := filepath.Join(t.TempDir(), "site")
	b := &branchPublish{
		gh:  gh,
		out: out,
		args: []string{
			"--cache", cache, "--cachix-url", srv.cachix.URL(), "--out", out,
			"--mode", "branch", "--repo", gh.Owner + "/" + gh.Repo,
			"--github-token", gh.Token, "--github-api-url", gh.APIURL(), "--upstream", upstream,
		},
		git: "git+file://" + path.Join(nix, filepath.ToSlash(rel)) + "?ref=pins",
	}
	output, err := runCLI(ctx, t, srv.cli, b.args...)
	if err != nil {
		return nil, err
	}
	// Reported, not fatal: the cells show what a wrong branch breaks.
	if !regexp.MustCompile(`\bcommitted [0-9a-f]{7,} in \d+ API calls`).MatchString(output) {
		t.Errorf("the first publish to the branch does not say it committed:\n%s", output)
	}
	if _, writes := gh.Counts(); writes == 0 {
		t.Error("the first publish to the branch made no write request")
	}
	if err := b.check(ctx, bundleDir); err != nil {
		t.Error(err)
	}
	return b, nil
}

// check checks the branch: one commit, whose tree is the bundle in bundleDir
// plus the marker, the pins.json of the publish's --out less its bundle list,
// and the one-name bundles that the site beside bundleDir serves as
// p/NAME.tar.gz, unpacked at p/NAME/. Only README.md may differ from
// bundleDir's, since it shows how the bundle is reached (the flake reference
// here, the URL on the site).
func (b *branchPublish) check(ctx context.Context, bundleDir string) error {
	if errs := b.gh.InternalErrors(); len(errs) > 0 {
		return fmt.Errorf("the local GitHub failed: %v", errs)
	}
	n, err := b.gh.Git("rev-list", "--count", "refs/heads/pins")
	if err != nil {
		return err
	}
	if n != "1" {
		return fmt.Errorf("git rev-list --count pins: %s commits, want 1", n)
	}
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", "--git-dir="+b.gh.GitDir, "archive", "--format=tar", "refs/heads/pins")
	cmd.Env = append(hostEnv(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	cmd.WaitDelay = waitDelay
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	archive, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("git archive pins: %v\n%s", err, stderr.Bytes())
	}
	branch := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(archive))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("git archive pins: %w", err)
		}
		switch h.Typeflag {
		case tar.TypeDir, tar.TypeXGlobalHeader:
		case tar.TypeReg:
			data, err := io.ReadAll(tr)
			if err != nil {
				return err
			}
			branch[h.Name] = data
		default:
			return fmt.Errorf("branch pins holds %s of type %q", h.Name, h.Typeflag)
		}
	}
	want, err := readTree(bundleDir)
	if err != nil {
		return err
	}
	if err := readOnes(filepath.Join(filepath.Dir(bundleDir), "p"), want); err != nil {
		return err
	}
	const marker = ".create-pin-refs"
	if len(branch[marker]) == 0 {
		return fmt.Errorf("branch pins has no %s marker", marker)
	}
	if len(branch["README.md"]) == 0 || len(want["README.md"]) == 0 {
		return errors.New("branch pins or the site's bundle has no README.md")
	}
	if err := sameManifest(branch["pins.json"], filepath.Join(b.out, "pins.json")); err != nil {
		return fmt.Errorf("branch pins: pins.json: %w", err)
	}
	delete(branch, marker)
	delete(branch, "pins.json")
	delete(branch, "README.md")
	delete(want, "README.md")
	if err := sameFiles(branch, want, "branch pins", bundleDir); err != nil {
		return fmt.Errorf("branch pins is not the bundle: %w", err)
	}
	return nil
}

// sameManifest checks that data is the pins.json in file less its bundle
// list, which the branch does not serve.
func sameManifest(data []byte, file string) error {
	var got, want map[string]json.RawMessage
	if err := json.Unmarshal(data, &got); err != nil {
		return err
	}
	site, err := os.ReadFile(file)
	if err == nil {
		err = json.Unmarshal(site, &want)
	}
	if err != nil {
		return err
	}
	delete(want, "bundles")
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if !bytes.Equal(got[k], want[k]) {
			return fmt.Errorf("%s differs from %s's", k, file)
		}
	}
	if len(got) != len(want) {
		return fmt.Errorf("holds %d members, %s %d besides its bundles", len(got), file, len(want))
	}
	return nil
}

// readOnes adds to files the one-name bundles of the site's folder dir
// (NAME.tar.gz, one top folder each) as a branch holds them: p/NAME/FILE.
func readOnes(dir string, files map[string][]byte) error {
	tarballs, err := filepath.Glob(filepath.Join(dir, "*.tar.gz"))
	if err != nil {
		return err
	}
	for _, f := range tarballs {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		tr := tar.NewReader(zr)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
			if h.Typeflag != tar.TypeReg {
				continue
			}
			_, rel, _ := strings.Cut(h.Name, "/") // below the top folder
			content, err := io.ReadAll(tr)
			if err != nil {
				return err
			}
			files["p/"+strings.TrimSuffix(filepath.Base(f), ".tar.gz")+"/"+rel] = content
		}
	}
	return nil
}

// republish runs the CLI again with the same pins: it must see that the branch
// already holds them and write nothing.
func (b *branchPublish) republish(ctx context.Context, t *testing.T, cli, bundleDir string) error {
	_, writesBefore := b.gh.Counts()
	output, err := runCLI(ctx, t, cli, b.args...)
	if err != nil {
		return err
	}
	var problems []string
	if !regexp.MustCompile(`\bunchanged in \d+ API calls`).MatchString(output) || strings.Contains(output, "committed") {
		problems = append(problems, "the output does not say that nothing changed")
	}
	if _, writes := b.gh.Counts(); writes != writesBefore {
		var w []string
		for _, r := range b.gh.Requests() {
			if r.Write {
				w = append(w, fmt.Sprintf("%s %s (%d)", r.Method, r.Path, r.Status))
			}
		}
		problems = append(problems, fmt.Sprintf("%d write requests; all writes so far: %s", writes-writesBefore, strings.Join(w, ", ")))
	}
	if err := b.check(ctx, bundleDir); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return fmt.Errorf("publishing the same pins again:\n%s\noutput:\n%s", strings.Join(problems, "\n"), output)
	}
	return nil
}

// publishS3 publishes the cache's pins in s3 mode to the prefix cache of the
// bucket, with the real CLI, checks that the bucket serves each file of the
// site it wrote to --out (but _headers, whose headers the objects carry),
// and returns the site's base URL: the bucket's plain HTTP address.
func publishS3(ctx context.Context, t *testing.T, srv *servers, cache, upstream string) (string, error) {
	base := srv.s3.ObjectURL(s3Bucket, cache)
	out := filepath.Join(t.TempDir(), "site")
	if _, err := runCLIEnv(ctx, t, srv.cli, srv.s3.CLIEnv(), "--cache", cache, "--cachix-url", srv.cachix.URL(), "--mode", "s3",
		"--s3-url", "s3://"+s3Bucket+"/"+cache, "--s3-endpoint", srv.s3.URL, "--site-url", base+"/", "--out", out, "--upstream", upstream); err != nil {
		return "", err
	}
	files, err := readTree(out)
	if err != nil {
		return "", err
	}
	delete(files, site.Headers)
	for name, want := range files {
		resp, err := http.Get(base + "/" + name)
		if err != nil {
			return "", err
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(got, want) {
			return "", fmt.Errorf("s3 mode: GET %s/%s: %d, %d bytes (%v); want the %d bytes of %s", base, name, resp.StatusCode, len(got), err, len(want), filepath.Join(out, name))
		}
	}
	return base, nil
}
