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
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kwbauson/create-pin-refs/test/fakegithub"
)

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
