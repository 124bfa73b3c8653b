package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kwbauson/create-pin-refs/test/fakecachix"
)

// checkPrivateCache uses a private cache the way users of a private Cachix
// cache do: the CLI reads the token from CACHIX_AUTH_TOKEN, and Nix
// authenticates to the binary cache with a netrc file. A local Cachix of its
// own holds one pin, hello, over the installation's binary cache, and wants
// the token for its API and its binary cache alike. The token must never be
// printed or published; without it the CLI must fail and write nothing, and
// without the netrc Nix must not get the pin: the cache really is private.
func checkPrivateCache(t *testing.T, srv *servers, in *install, fx *fixture) {
	ctx := t.Context()
	i := slices.IndexFunc(fx.pins, func(p testPin) bool { return p.name == "hello" })
	j := slices.IndexFunc(cells(), func(c cell) bool { return c.id == "build-f" })
	if i < 0 || j < 0 {
		t.Fatal("no hello pin or no build-f cell")
	}
	hello, build := fx.pins[i], cells()[j]

	secret := make([]byte, 16)
	rand.Read(secret)
	token := "cpr-e2e-token-" + hex.EncodeToString(secret)
	name := fx.cache + "-private"
	priv := fakecachix.Start(t, fakecachix.Options{
		Token: token,
		Caches: []fakecachix.Cache{{
			Name:              name,
			Pins:              cachixPins([]testPin{hello}),
			PublicSigningKeys: []string{fx.publicKey},
			Dir:               fx.cacheDir,
		}},
	})
	substituter := priv.CacheURL(name)

	// Publish with the token from the environment; the site is served as
	// written.
	work := t.TempDir()
	site := serveDir(t, work) + "/site"
	args := func(out string) []string {
		return []string{
			"--cache", name, "--cachix-url", priv.URL(), "--mode", "dir",
			"--repo", "cpr-e2e/" + name, "--pages-url", site + "/", "--out", out, "--upstream", "none",
		}
	}
	out := filepath.Join(work, "site")
	output, err := runCLIEnv(ctx, t, srv.cli, []string{"CACHIX_AUTH_TOKEN=" + token}, args(out)...)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(output, token) {
		t.Error("the CLI printed the token")
	}
	if err := checkSite(out); err != nil {
		t.Fatal(err)
	}
	files, err := readTree(work)
	if err != nil {
		t.Fatal(err)
	}
	for f, data := range files {
		if strings.Contains(f, token) || strings.Contains(string(data), token) {
			t.Errorf("the token is in the published %s", f)
		}
	}

	// Without the token the CLI must fail, say how to pass it, and write
	// nothing.
	empty := t.TempDir()
	output, err = runCLI(ctx, t, srv.cli, args(filepath.Join(empty, "site"))...)
	var exit *exec.ExitError
	switch {
	case err == nil:
		t.Error("without the token, the CLI published the private cache")
	case !errors.As(err, &exit) || exit.ExitCode() != 1:
		t.Errorf("without the token: %v, want exit status 1", err)
	}
	if !strings.Contains(output, "--auth-token") || !strings.Contains(output, "CACHIX_AUTH_TOKEN") {
		t.Errorf("without the token, the CLI's message does not name --auth-token and CACHIX_AUTH_TOKEN:\n%s", output)
	}
	if entries, err := os.ReadDir(empty); err != nil || len(entries) > 0 {
		t.Errorf("without the token, the CLI wrote %v (%v)", entries, err)
	}

	// Nix, with the site and the private binary cache. curl matches a netrc
	// machine against the host name only, without the port.
	host, nix, err := in.newDir("private-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(host) // the netrc, and the result link (a GC root)
	for _, d := range []string{"home", "home-anonymous"} {
		if err := os.Mkdir(filepath.Join(host, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(host, "netrc"), []byte("machine 127.0.0.1 login cpr-e2e password "+token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := in.forget(ctx, hello.closure); err != nil {
		t.Fatal(err)
	}
	input := cellInput{site: site, work: nix, pin: hello, v: in.version}
	conf := nixConf{substituter: substituter, publicKey: fx.publicKey}

	// Without the netrc (a file that does not exist), the binary cache
	// refuses Nix, and the pin stays absent. Nix 2.26 shows the 401; Nix 2.8
	// takes a refused nix-cache-info for no binary cache at all.
	refused := regexp.MustCompile(regexp.QuoteMeta(substituter) +
		`(/nix-cache-info': HTTP error 401\b|' does not appear to be a binary cache)`)
	missing := regexp.MustCompile(`path '` + regexp.QuoteMeta(hello.path) + `' does not exist and cannot be created`)
	conf.netrcFile = nix + "/no-netrc"
	priv.ResetRequests()
	r := in.run(ctx, in.env(nix+"/home-anonymous", conf), build.steps(input)[0]...)
	t.Logf("$ %s (%s, %v) without the netrc", shellJoin(r.argv), r.took.Round(time.Millisecond), exitText(r.err))
	switch {
	case r.err == nil:
		t.Errorf("without the netrc, Nix got the pin of the private cache:\n%s", r.describe())
	case !refused.MatchString(r.log.text) || !missing.MatchString(r.log.text):
		t.Errorf("without the netrc, want Nix to say that the binary cache refused it (%q) and that the pin cannot be had (%q), got:\n%s",
			refused, missing, r.describe())
	}
	asked := slices.ContainsFunc(priv.Requests(), func(req string) bool {
		return strings.Contains(req, " /cache/"+name+"/")
	})
	if !asked {
		t.Errorf("without the netrc, Nix did not ask the private binary cache %s:\n%s", substituter, r.describe())
	}
	inv, err := in.invalid(ctx, hello.closure)
	if err != nil {
		t.Fatal(err)
	}
	if len(inv) != len(hello.closure) {
		t.Fatalf("without the netrc, Nix got some of %s (still missing: %s):\n%s", strings.Join(hello.closure, " "), strings.Join(inv, " "), r.describe())
	}

	// With it, the pin, absent before, comes from the private binary cache.
	conf.netrcFile = nix + "/netrc"
	env := in.env(nix+"/home", conf)
	results, transcript := runSteps(t, in, env, build.steps(input))
	if results[len(results)-1].err != nil {
		t.Fatalf("with the netrc, failed:\n%s", strings.Join(transcript, "\n"))
	}
	privFx := *fx
	privFx.substituter = substituter
	if problems := checkSubstituted(ctx, in, &privFx, build, input, host, results); len(problems) > 0 {
		for _, p := range problems {
			t.Error(p)
		}
		t.Logf("transcript:\n%s", strings.Join(transcript, "\n"))
	}
}
