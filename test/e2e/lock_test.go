package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kwbauson/create-pin-refs/pkg/nar"
	"github.com/kwbauson/create-pin-refs/pkg/site"
	"github.com/kwbauson/create-pin-refs/test/fakecachix"
)

// lockForm is a way a consumer flake names the pins as its input.
type lockForm struct {
	id, row string
	url     func(s lockSites) string
	expect  func(v nixVersion) expectation
	// fixed: the URL names one bundle, so `nix flake update` keeps it.
	fixed bool
}

// lockSites are the published pins as a consumer flake can name them.
type lockSites struct {
	pages     string // base URL of the site as GitHub Pages serves it (no custom headers)
	headers   string // base URL of the same pins on a host that honours _headers
	immutable string // the first publish's immutable bundle, from pins.json
	git       string
	s3        string // base URL of the same pins in a bucket, published by s3 mode
}

// mutableLock is what a lock of a URL whose content changed gives.
func mutableLock(reason string) func(nixVersion) expectation {
	return func(nixVersion) expectation {
		return expectation{
			unsupported: reason + "; lock the immutable URL (pins.json `bundles`, shown on the index page), a host that sends the Link header, or the branch",
			failure:     regexp.MustCompile(`mismatch in field 'narHash'|NAR hash mismatch in input`),
		}
	}
}

func lockForms() []lockForm {
	const tail = ", locked; after a republish that changes the pin, in a fresh store: `nix run --impure FLAKE#NAME` gives the locked pin, and after `nix flake update` "
	return []lockForm{
		{
			id: "mutable", row: "flake input `URL/pins.tar.gz` (GitHub Pages)" + tail + "the new one",
			url:    func(s lockSites) string { return s.pages + "pins.tar.gz" },
			expect: mutableLock("the URL now serves other content and Nix checks the locked narHash (\"NAR hash mismatch in input\" on 2.8, \"mismatch in field 'narHash'\" on 2.26)"),
		},
		{
			id: "immutable", row: "flake input `URL/b/NAME.tar.gz` (immutable)" + tail + "still the locked one (the URL names one bundle)",
			url:    func(s lockSites) string { return s.immutable },
			expect: func(nixVersion) expectation { return expectation{} },
			fixed:  true,
		},
		{
			id: "link", row: "flake input `URL/pins.tar.gz` from a host that sends `_headers`' `Link: <URL/b/NAME.tar.gz?narHash=…>; rel=\"immutable\"`" + tail + "the new one",
			url: func(s lockSites) string { return s.headers + "pins.tar.gz" },
			expect: func(v nixVersion) expectation {
				if v.atLeast(2, 17) {
					return expectation{}
				}
				return mutableLock("Nix < 2.17 ignores the Link header, so the lock holds the mutable URL, whose content changed (\"NAR hash mismatch in input\")")(v)
			},
		},
		{
			id: "s3", row: "flake input `URL/pins.tar.gz` of s3 mode, URL the bucket's HTTP address, whose object sends `x-amz-meta-link: <URL/b/NAME.tar.gz?narHash=…>; rel=\"immutable\"`" + tail + "the new one",
			url: func(s lockSites) string { return s.s3 + "pins.tar.gz" },
			expect: func(v nixVersion) expectation {
				if v.atLeast(2, 17) {
					return expectation{}
				}
				return mutableLock("Nix < 2.17 ignores x-amz-meta-link, so the lock holds the mutable URL, whose content changed (\"NAR hash mismatch in input\")")(v)
			},
		},
		{
			id: "git", row: "flake input `git+file://REPO?ref=pins`" + tail + "the new one",
			url:    func(s lockSites) string { return s.git },
			expect: func(nixVersion) expectation { return expectation{} },
		},
	}
}

// lockRows are the matrix rows of checkLocks.
func lockRows() []string {
	var rows []string
	for _, f := range lockForms() {
		rows = append(rows, f.row)
	}
	return rows
}

// consumer is a flake that takes the pins as an input.
type consumer struct {
	form    lockForm
	host    string // its folder, as the test sees it
	ref     string // path:FOLDER, as Nix sees it
	sources []string
}

// checkLocks publishes a pin, locks a consumer flake to each URL form, then
// publishes the pin changed and runs each consumer in a fresh store: its
// locked source and Nix's caches gone. Each lockable form must give the
// locked pin, substituted from the cache; `nix flake update` must then move
// to the new pin. It also checks that pins.json's narHash is what `nix hash
// path` says of the unpacked bundle.
func checkLocks(t *testing.T, srv *servers, in *install, fx *fixture, m *matrix) {
	ctx := t.Context()
	byName := func(n string) testPin {
		i := slices.IndexFunc(fx.pins, func(p testPin) bool { return p.name == n })
		if i < 0 {
			t.Fatalf("no pin %s", n)
		}
		return fx.pins[i]
	}
	oldPin := byName("hello")
	newPin := byName("anywhere")
	// The same pin name, now at another store path with another program.
	newPin.pinName, newPin.name, newPin.artifacts = oldPin.pinName, oldPin.name, []string{newPin.program}

	name := fx.cache + "-lock"
	setPin := func(p testPin) {
		err := srv.cachix.SetCache(fakecachix.Cache{Name: name, Pins: cachixPins([]testPin{p}), PublicSigningKeys: []string{fx.publicKey}, Dir: fx.cacheDir})
		if err != nil {
			t.Fatal(err)
		}
	}
	pagesDir := filepath.Join(srv.siteRoot, name)
	headersDir := filepath.Join(t.TempDir(), "headers-site")
	sites := lockSites{pages: srv.siteURL + "/" + name + "/", headers: serveWithHeaders(t, headersDir) + "/"}
	deploy := func() {
		s3site, err := publishS3(ctx, t, srv, name, fx.upstream)
		if err != nil {
			t.Fatal(err)
		}
		sites.s3 = s3site + "/"
		for _, s := range []struct{ url, dir string }{{sites.pages, pagesDir}, {sites.headers, headersDir}} {
			out := filepath.Join(t.TempDir(), "site")
			if _, err := runCLI(ctx, t, srv.cli, "--cache", name, "--cachix-url", srv.cachix.URL(), "--mode", "pages", "--pages-url", s.url, "--out", out, "--upstream", fx.upstream); err != nil {
				t.Fatal(err)
			}
			if err := os.RemoveAll(s.dir); err != nil {
				t.Fatal(err)
			}
			if err := unpackArtifact(filepath.Join(out+"-artifact", "artifact.tar"), s.dir); err != nil {
				t.Fatal(err)
			}
		}
	}
	setPin(oldPin)
	deploy()
	branch, err := publishBranch(ctx, t, in, srv, name, fx.upstream, filepath.Join(pagesDir, "bundle"))
	if err != nil {
		t.Fatal(err)
	}
	sites.git = branch.git
	var manifest site.ManifestData
	if data, err := os.ReadFile(filepath.Join(pagesDir, site.Manifest)); err != nil || json.Unmarshal(data, &manifest) != nil || len(manifest.Bundles) == 0 {
		t.Fatalf("pins.json lists no immutable bundle: %v", err)
	}
	sites.immutable = manifest.Bundles[0].URL
	checkNarHash(ctx, t, in, filepath.Join(pagesDir, "bundle"), manifest.Bundles[0].NarHash)

	conf := nixConf{substituter: fx.substituter + " " + fx.upstream, publicKey: fx.publicKey}
	fresh := func(prefix string) []string {
		_, nix, err := in.newDir(prefix)
		if err != nil {
			t.Fatal(err)
		}
		return in.env(nix, conf)
	}
	var consumers []*consumer
	for _, f := range lockForms() {
		host, nix, err := in.newDir("consumer-" + f.id + "-")
		if err != nil {
			t.Fatal(err)
		}
		flake := fmt.Sprintf("{\n  inputs.pins.url = %q;\n  outputs = { self, pins }: { inherit (pins) packages apps; };\n}\n", f.url(sites))
		if err := os.WriteFile(filepath.Join(host, "flake.nix"), []byte(flake), 0o644); err != nil {
			t.Fatal(err)
		}
		c := &consumer{form: f, host: host, ref: "path:" + nix}
		env := fresh("home-")
		r := in.run(ctx, env, "nix", "flake", "lock", c.ref)
		t.Logf("%s", r.describe())
		if r.err != nil {
			t.Errorf("%s: locking: %s", f.id, r.describe())
			continue
		}
		r = in.run(ctx, env, "nix", "flake", "archive", "--json", c.ref)
		var archived struct {
			Inputs map[string]struct{ Path string }
		}
		if r.err != nil || json.Unmarshal([]byte(r.stdout), &archived) != nil || archived.Inputs["pins"].Path == "" {
			t.Errorf("%s: the locked source: %s", f.id, r.describe())
			continue
		}
		c.sources = append(c.sources, archived.Inputs["pins"].Path)
		lock, _ := os.ReadFile(filepath.Join(host, "flake.lock"))
		if (f.id == "link" || f.id == "s3") && in.version.atLeast(2, 17) && !strings.Contains(string(lock), "/b/") {
			t.Errorf("with the Link header, Nix %s did not lock the immutable URL:\n%s", in.version, lock)
		}
		if f.id == "immutable" && !strings.Contains(string(lock), manifest.Bundles[0].NarHash) {
			t.Errorf("Nix locked another narHash than pins.json's %s:\n%s", manifest.Bundles[0].NarHash, lock)
		}
		consumers = append(consumers, c)
	}

	setPin(newPin)
	deploy()
	if _, err := runCLI(ctx, t, srv.cli, branch.args...); err != nil {
		t.Fatal(err)
	}
	var sources []string
	for _, c := range consumers {
		sources = append(sources, c.sources...)
	}
	slices.Sort(sources)
	sources = slices.Compact(sources)
	watched := append(append(slices.Clone(sources), oldPin.closure...), newPin.closure...)
	for _, c := range consumers {
		t.Run(c.form.id, func(t *testing.T) {
			o, reason := outcomeFailed, ""
			defer func() { m.record(c.form.row, in.name(), oldPin, in.system, o, reason) }()
			exp := c.form.expect(in.version)
			// A fresh store for the consumer: the locked source and the pins
			// gone, Nix's caches in a new HOME.
			if err := in.forget(ctx, watched); err != nil {
				t.Fatal(err)
			}
			r := in.run(ctx, fresh("home-"), logJSON("nix", "run", "--impure", "--no-update-lock-file", c.ref+"#hello")...)
			t.Logf("%s", r.describe())
			switch {
			case exp.unsupported != "" && r.err == nil:
				o, reason = outcomeUnexpectedPass, exp.unsupported
				t.Logf("UNEXPECTED PASS: expected unsupported (%s)", exp.unsupported)
			case exp.unsupported != "" && !exp.failure.MatchString(r.log.text):
				t.Errorf("expected unsupported (%s) with an error matching %q", exp.unsupported, exp.failure)
			case exp.unsupported != "":
				o, reason = outcomeUnsupported, exp.unsupported
			case r.err != nil:
				t.Errorf("the locked pin after a republish failed")
			case !strings.Contains(r.stdout, oldPin.want[0]):
				t.Errorf("want the locked pin's %q, got %q", oldPin.want[0], r.stdout)
			case strings.TrimSuffix(r.log.fetched[oldPin.path], "/") != strings.TrimSuffix(fx.substituter, "/"):
				t.Errorf("the locked pin %s was not substituted from %s", oldPin.path, fx.substituter)
			default:
				o = outcomeOK
			}
			// `nix flake update` moves to the new pin, unless the URL names one bundle.
			update := []string{"nix", "flake", "update", c.ref}
			if in.version.atLeast(2, 19) {
				update = []string{"nix", "flake", "update", "--flake", c.ref}
			}
			env := fresh("home-")
			r = in.run(ctx, env, update...)
			if r.err == nil {
				r = in.run(ctx, env, "nix", "run", "--impure", "--no-update-lock-file", c.ref+"#hello")
			}
			t.Logf("%s", r.describe())
			want := newPin.want[0]
			if c.form.fixed {
				want = oldPin.want[0]
			}
			if r.err != nil || !strings.Contains(r.stdout, want) {
				t.Errorf("after nix flake update: want %q", want)
				o = outcomeFailed
			}
		})
	}
}

// checkNarHash checks that want, the narHash pins.json gives the bundle, is
// what `nix hash path` says of the unpacked bundle, and that package nar
// agrees with Nix on a folder with executable files and nested folders.
func checkNarHash(ctx context.Context, t *testing.T, in *install, bundleDir, want string) {
	t.Helper()
	host, nix, err := in.newDir("narhash-")
	if err != nil {
		t.Fatal(err)
	}
	files, err := readTree(bundleDir)
	if err != nil {
		t.Fatal(err)
	}
	extra := []nar.File{
		{Path: "bin/run", Data: []byte("#!/bin/sh\necho hi\n"), Executable: true},
		{Path: "a/b/c/deep.json", Data: []byte("{}\n")},
		{Path: "a.b", Data: []byte("12345678")},
		{Path: "empty", Data: []byte{}},
	}
	for _, tree := range []struct {
		name  string
		files []nar.File
		want  string
	}{{"bundle", nil, want}, {"mixed", extra, ""}} {
		var nf []nar.File
		if tree.files == nil {
			for p, d := range files {
				nf = append(nf, nar.File{Path: p, Data: d})
			}
		} else {
			nf = tree.files
		}
		for _, f := range nf {
			p := filepath.Join(host, tree.name, filepath.FromSlash(f.Path))
			mode := os.FileMode(0o644)
			if f.Executable {
				mode = 0o755
			}
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, f.Data, mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, mode); err != nil {
				t.Fatal(err)
			}
		}
		ours, err := nar.Hash(nf)
		if err != nil {
			t.Fatal(err)
		}
		r := in.admin(ctx, "nix", "hash", "path", nix+"/"+tree.name)
		switch {
		case r.err != nil:
			t.Errorf("%s", r.describe())
		case r.stdout != ours:
			t.Errorf("%s: nix hash path says %s, package nar %s", tree.name, r.stdout, ours)
		case tree.want != "" && tree.want != ours:
			t.Errorf("%s: pins.json gives narHash %s, nix hash path %s", tree.name, tree.want, r.stdout)
		default:
			t.Logf("%s: nix hash path = package nar = %s", tree.name, ours)
		}
	}
}
