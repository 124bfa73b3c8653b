package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kwbauson/create-pin-refs/test/fakecachix"
	"github.com/kwbauson/create-pin-refs/test/s3server"
)

// servers are shared by all installations: one local Cachix, holding a cache per
// installation, and one web server, playing GitHub Pages, holding a site per
// installation. Each installation has a local GitHub of its own (see
// publishBranch), since its repository must be where its Nix can read it.
type servers struct {
	cli      string // the create-pin-refs binary
	cachix   *fakecachix.Server
	siteRoot string // served at siteURL
	siteURL  string
	// s3 holds bucket s3Bucket, which anyone may read, as s3 mode's host.
	s3 *s3server.Server
}

// s3Bucket is the bucket s3 mode publishes to, a prefix per cache.
const s3Bucket = "cpr-e2e"

// fixture is what one installation's cells use.
type fixture struct {
	site        string // base URL of the site: the Pages artifact, unpacked and served
	s3site      string // base URL of the same pins published by s3 mode, the bucket's HTTP address
	siteDir     string // where that site is, as the test sees it
	cache       string // the Cachix cache's name
	cacheDir    string // the binary cache folder behind substituter
	substituter string // the binary cache, as the bundle names it
	upstream    string // the upstream binary cache, which holds what substituter leaves out
	gone        string // a package deleted from the binary cache
	publicKey   string
	git         string // git+file:///REPO?ref=pins, the repository branch mode wrote through the GitHub API
	branch      *branchPublish
	pins        []testPin
	// nextDir is the site of a republish where the pins of upgradeWant
	// print its lines. upgradeDir, served at upgradeURL, holds the site and
	// then nextDir's.
	nextDir, upgradeDir, upgradeURL string
	upgradeWant                     map[string][]string
}

// TestNix publishes bundles with the real CLI and uses them through real Nix.
//
// CPR_NIX lists the installations, comma-separated: "host" (the nix on PATH) or
// "chroot:DIR" (a chroot as test/nix/setup.sh makes). Without CPR_NIX the nix on
// PATH is used; with no Nix at all the test skips, or fails when CI is set.
// CPR_MATRIX_OUT, when set, names a file that receives the measured
// compatibility matrix as Markdown.
func TestNix(t *testing.T) {
	specs := nixSpecs(t)
	start := time.Now()
	ctx := t.Context()

	var installs []*install
	for _, s := range specs {
		in, err := openInstall(ctx, s, t.Cleanup)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %s on %s", s, in.name(), in.system)
		installs = append(installs, in)
	}
	bin, err := buildCLI(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv := &servers{cli: bin, cachix: fakecachix.Start(t, fakecachix.Options{}), siteRoot: t.TempDir(), s3: s3server.Start(t)}
	srv.siteURL = serveDir(t, srv.siteRoot)
	srv.s3.CreateBucket(t, s3Bucket)
	srv.s3.AllowAnonymousRead(t, s3Bucket)

	var rows, cols []string
	for _, c := range cells() {
		rows = append(rows, c.row)
	}
	rows = append(rows, lockRows()...)
	for _, in := range installs {
		cols = append(cols, in.name())
	}
	m := newMatrix(rows, cols)
	t.Run("nix", func(t *testing.T) {
		for i, in := range installs {
			t.Run(in.name(), func(t *testing.T) {
				// Each installation has a store of its own and store paths of its
				// own, so they can run side by side: Nix's garbage collector takes
				// any process's open store paths (found in /proc, which a chroot
				// shares) as roots, and would keep one installation from
				// deleting a path that another is running.
				t.Parallel()
				fx := setUp(t, in, srv, fmt.Sprintf("cpr-e2e-%d", i+1))
				runInstall(t, srv, in, fx, m)
			})
		}
	})

	md := m.markdown()
	t.Logf("compatibility matrix:\n%s", md)
	if !t.Failed() {
		checkReadme(t, md)
	}
	if out := os.Getenv("CPR_MATRIX_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(md), 0o644); err != nil {
			t.Error(err)
		}
	}
	t.Logf("total %s", time.Since(start).Round(time.Second))
}

// setUp builds the test packages in in's store, fills a binary cache with them
// and publishes their pins as the Cachix cache named cache, with the real CLI.
func setUp(t *testing.T, in *install, srv *servers, cache string) *fixture {
	ctx := t.Context()
	start := time.Now()
	// Fresh store paths each run: nothing left from an earlier run can pass.
	nonce := make([]byte, 4)
	rand.Read(nonce)
	tag := hex.EncodeToString(nonce)
	bc, err := buildCache(ctx, in, tag)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// t.Context is done by now; run has its own timeout.
		if err := in.forget(context.Background(), bc.cleanup); err != nil {
			t.Errorf("removing the test packages: %v", err)
		}
	})
	t.Logf("built %d test packages and copied them to %s (%s)", len(bc.packages), bc.dir, time.Since(start).Round(time.Millisecond))

	tested, extra := makePins(bc, in.system, tag)
	err = srv.cachix.SetCache(fakecachix.Cache{
		Name:              cache,
		Pins:              cachixPins(append(slices.Clone(tested), extra...)),
		PublicSigningKeys: []string{bc.publicKey},
		Dir:               bc.dir,
	})
	if err == nil {
		// The upstream cache of the split closure, standing in for
		// cache.nixos.org: the CLI asks it for what the cache lacks.
		err = srv.cachix.SetCache(fakecachix.Cache{Name: cache + "-upstream", Dir: bc.upstream})
	}
	if err != nil {
		t.Fatal(err)
	}
	upstream := srv.cachix.CacheURL(cache + "-upstream")
	// The URL cells read what GitHub Pages would serve: the artifact of
	// --mode pages, unpacked. The git cells read the repository that --mode
	// branch wrote through the GitHub API.
	site := srv.siteURL + "/" + cache
	siteDir := filepath.Join(srv.siteRoot, cache)
	if err := publishPages(ctx, t, srv, cache, upstream, site, siteDir); err != nil {
		t.Fatal(err)
	}
	branch, err := publishBranch(ctx, t, in, srv, cache, upstream, filepath.Join(siteDir, "bundle"))
	if err != nil {
		t.Fatal(err)
	}
	s3site, err := publishS3(ctx, t, srv, cache, upstream)
	if err != nil {
		t.Fatal(err)
	}
	// The same pins with a package NAME-next for the pin NAME: a republish,
	// for profile upgrades.
	next := slices.Clone(append(slices.Clone(tested), extra...))
	upgradeWant := map[string][]string{}
	for i, p := range next {
		if pkg, ok := bc.packages[p.name+"-next"]; ok {
			next[i].path = pkg.out
			upgradeWant[p.name] = []string{"cpr-e2e " + p.name + "-next " + tag}
		}
	}
	err = srv.cachix.SetCache(fakecachix.Cache{
		Name:              cache + "-next",
		Pins:              cachixPins(next),
		PublicSigningKeys: []string{bc.publicKey},
		Dir:               bc.dir,
	})
	if err != nil {
		t.Fatal(err)
	}
	nextDir := filepath.Join(srv.siteRoot, cache+"-next")
	if err := publishPages(ctx, t, srv, cache+"-next", upstream, srv.siteURL+"/"+cache+"-next", nextDir); err != nil {
		t.Fatal(err)
	}
	return &fixture{
		cache:       cache,
		cacheDir:    bc.dir,
		site:        site,
		s3site:      s3site,
		siteDir:     siteDir,
		substituter: srv.cachix.CacheURL(cache),
		upstream:    upstream,
		gone:        bc.gone,
		publicKey:   bc.publicKey,
		git:         branch.git,
		branch:      branch,
		pins:        tested,
		nextDir:     nextDir,
		upgradeURL:  srv.siteURL + "/" + cache + "-upgrade",
		upgradeDir:  filepath.Join(srv.siteRoot, cache+"-upgrade"),
		upgradeWant: upgradeWant,
	}
}

// nixSpecs reads CPR_NIX, defaulting to the nix on PATH.
func nixSpecs(t *testing.T) []string {
	s := os.Getenv("CPR_NIX")
	if s == "" {
		if _, err := exec.LookPath("nix"); err == nil {
			return []string{"host"}
		}
		const msg = "no Nix installation: set CPR_NIX (host, chroot:DIR; see test/nix/setup.sh) or put nix on PATH"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI is set, so this is a failure)")
		}
		t.Skip(msg)
	}
	var specs []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		// Installations run side by side, which is only safe with a store each.
		if slices.Contains(specs, f) {
			t.Fatalf("CPR_NIX=%q names %s twice", s, f)
		}
		specs = append(specs, f)
	}
	if len(specs) == 0 {
		t.Fatalf("CPR_NIX=%q names no installation", s)
	}
	return specs
}

// runInstall runs every cell for every pin, in sequence, on one installation,
// then publishes the same pins to the branch again, then checks a private cache
// (outside the matrix).
func runInstall(t *testing.T, srv *servers, in *install, fx *fixture, m *matrix) {
	for _, p := range fx.pins {
		for _, c := range cells() {
			if c.foreign != p.foreign || c.kind != p.kind || c.only != nil && !slices.Contains(c.only, p.name) {
				continue
			}
			t.Run(p.name+"/"+c.id, func(t *testing.T) {
				runCell(t, in, fx, c, p, m)
			})
		}
	}
	t.Run("branch-republish", func(t *testing.T) {
		if err := fx.branch.republish(t.Context(), t, srv.cli, filepath.Join(fx.siteDir, "bundle")); err != nil {
			t.Error(err)
		}
	})
	t.Run("private-cache", func(t *testing.T) {
		checkPrivateCache(t, srv, in, fx)
	})
	t.Run("pin-resolve", func(t *testing.T) {
		checkPinCommand(t, srv, in, fx)
	})
	t.Run("missing-pin", func(t *testing.T) {
		checkMissingPin(t, srv, in, fx)
	})
	t.Run("lock", func(t *testing.T) {
		checkLocks(t, srv, in, fx, m)
	})
}

// runCell runs one cell for one pin and records the outcome.
func runCell(t *testing.T, in *install, fx *fixture, c cell, p testPin, m *matrix) {
	ctx := t.Context()
	o, reason := outcomeFailed, ""
	defer func() { m.record(c.row, in.name(), p, in.system, o, reason) }()

	exp := c.expect(in.version, p)
	host, nix, err := in.newDir("cell-")
	if err != nil {
		t.Fatal(err)
	}
	// Removing the folder drops the cell's GC roots (result links, profiles), so
	// that the next cell can delete the pin again.
	defer os.RemoveAll(host)
	if err := os.Mkdir(host+"/home", 0o755); err != nil {
		t.Fatal(err)
	}
	watched := append(slices.Clone(p.closure), p.absent...)
	if err := in.forget(ctx, watched); err != nil {
		t.Fatal(err)
	}

	if c.upgrade && fx.upgradeWant[p.name] == nil {
		t.Fatalf("the republish has no new version of %s (a package %s-next)", p.name, p.name)
	}
	env := in.env(nix+"/home", nixConf{fetchClosure: c.fetchClosure, substituter: fx.substituter + " " + fx.upstream, publicKey: fx.publicKey})
	ci := cellInput{site: fx.site, s3site: fx.s3site, git: fx.git, work: nix, pin: p, v: in.version, system: in.system,
		upgradeSite: fx.upgradeURL, upgradeWant: fx.upgradeWant[p.name]}
	results, transcript := runCellSteps(t, in, fx, c, ci, host, env)
	last := results[len(results)-1]
	worked := last.err == nil

	switch {
	case c.foreign:
		switch {
		case worked:
			t.Errorf("want Nix's missing-attribute error, but it worked:\n%s", strings.Join(transcript, "\n"))
		case !exp.failure.MatchString(last.log.text) || strings.Contains(last.log.text, "create-pin-refs:"):
			t.Errorf("want Nix's ordinary missing-attribute error (%s), got:\n%s", exp.failure, strings.Join(transcript, "\n"))
		case last.log.fetched[p.path] != "":
			t.Errorf("the other system's path %s was fetched:\n%s", p.path, strings.Join(transcript, "\n"))
		default:
			o = outcomeOK
		}
	case exp.unsupported != "":
		reason = exp.unsupported
		switch {
		case worked:
			o = outcomeUnexpectedPass
			t.Logf("UNEXPECTED PASS: expected unsupported on Nix %s (%s), but it worked; update the suite's expectations:\n%s",
				in.version, exp.unsupported, strings.Join(transcript, "\n"))
		case !exp.failure.MatchString(last.log.text):
			t.Errorf("expected unsupported (%s) with an error matching %q, got:\n%s", exp.unsupported, exp.failure, strings.Join(transcript, "\n"))
		case c.failStep > 0 && len(results) != c.failStep:
			t.Errorf("expected unsupported (%s) at step %d, but step %d failed:\n%s", exp.unsupported, c.failStep, len(results), strings.Join(transcript, "\n"))
		default:
			o = outcomeUnsupported
		}
	case !worked:
		t.Errorf("failed:\n%s", strings.Join(transcript, "\n"))
	default:
		var problems []string
		if c.listed != nil {
			problems = checkListed(ctx, in, c.listed(ci), p, results)
		} else {
			problems = checkSubstituted(ctx, in, fx, c, ci, host, results)
		}
		for _, pr := range problems {
			t.Error(pr)
		}
		if len(problems) > 0 {
			t.Logf("transcript:\n%s", strings.Join(transcript, "\n"))
			return
		}
		o = outcomeOK
	}
}
