package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kwbauson/create-pin-refs/test/fakecachix"
)

// addContentAddressed adds a program to the store with `nix-store --add`: a
// content-addressed path (its narinfo has a CA line), which fetchClosure must
// fetch without inputAddressed.
func addContentAddressed(ctx context.Context, in *install, nonce string) (string, error) {
	host, nix, err := in.newDir("ca-")
	if err != nil {
		return "", err
	}
	name := "cpr-e2e-" + nonce + "-ca"
	if err := os.MkdirAll(filepath.Join(host, name, "bin"), 0o755); err != nil {
		return "", err
	}
	script := "#!/bin/sh\necho \"cpr-e2e ca " + nonce + "\"\n"
	if err := os.WriteFile(filepath.Join(host, name, "bin", "ca"), []byte(script), 0o755); err != nil {
		return "", err
	}
	r := in.admin(ctx, "nix-store", "--add", nix+"/"+name)
	if r.err != nil {
		return "", fmt.Errorf("nix-store --add: %s", r.describe())
	}
	return strings.TrimSpace(r.stdout), nil
}

// arrangeCaches makes the binary cache what the closure cases need: the split
// package's dependency moves to an upstream cache (as Cachix leaves out what
// cache.nixos.org holds), the gone package is deleted from the cache, and the
// pin of another system gets the narinfo its own builder would have pushed.
func arrangeCaches(ctx context.Context, in *install, bc *binaryCache, nix, nonce string) error {
	var splitdep string
	for _, p := range bc.packages["split"].closure {
		if strings.HasSuffix(p, "-splitdep") {
			splitdep = p
		}
	}
	if splitdep == "" {
		return errors.New("the split package has no splitdep in its closure")
	}
	bc.upstream = filepath.Join(filepath.Dir(bc.dir), "upstream-cache")
	to := "file://" + nix + "/upstream-cache?secret-key=" + nix + "/secret.key"
	if r := in.admin(ctx, "nix", "copy", "--to", to, splitdep); r.err != nil {
		return fmt.Errorf("copying to the upstream cache: %s", r.describe())
	}
	bc.gone = bc.packages["gone"].out
	for _, p := range []string{splitdep, bc.gone} {
		if err := os.Remove(filepath.Join(bc.dir, hashOf(p)+".narinfo")); err != nil {
			return err
		}
	}
	elsewhere := storeDir + "/" + strings.Repeat("0", 32) + "-cpr-e2e-" + nonce + "-elsewhere"
	return fakecachix.WriteNarInfos(bc.dir, fakecachix.NarInfo{StorePath: elsewhere, NarSize: 1024})
}

func hashOf(storePath string) string { return strings.TrimPrefix(storePath, storeDir+"/")[:32] }

// checkMissingPin publishes a cache whose pin gone was deleted from the binary
// cache, once per --verify mode: fail stops before anything is written, naming
// the pin, the path and the fix; skip-missing leaves the pin out with a
// warning; warn publishes it, and then real Nix cannot get it.
func checkMissingPin(t *testing.T, srv *servers, in *install, fx *fixture) {
	ctx := t.Context()
	hello := fx.pins[slices.IndexFunc(fx.pins, func(p testPin) bool { return p.name == "hello" })]
	gone := testPin{pinName: "gone." + in.system, name: "gone", program: "bin/gone", path: fx.gone, closure: []string{fx.gone}}
	name := fx.cache + "-gone"
	if err := srv.cachix.SetCache(fakecachix.Cache{Name: name, Pins: cachixPins([]testPin{hello, gone}), PublicSigningKeys: []string{fx.publicKey}, Dir: fx.cacheDir}); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	site := serveDir(t, work)
	publish := func(mode string) (string, string, error) {
		out := filepath.Join(work, mode)
		output, err := runCLI(ctx, t, srv.cli, "--cache", name, "--cachix-url", srv.cachix.URL(), "--mode", "dir",
			"--upstream", fx.upstream, "--verify", mode, "--out", out)
		return output, out, err
	}
	fix := "cachix push " + name + " " + fx.gone

	output, out, err := publish("fail")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Errorf("--verify fail: %v, want exit status 1", err)
	}
	for _, want := range []string{`pin "` + gone.pinName + `"`, fx.gone + " is in no binary cache", fix} {
		if !strings.Contains(output, want) {
			t.Errorf("--verify fail: the error does not say %q:\n%s", want, output)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("--verify fail wrote %s (%v)", out, err)
	}

	output, out, err = publish("skip-missing")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(output, `warning: pin "`+gone.pinName+`": `+fx.gone+" is in no binary cache (fix: "+fix+"); left out") {
		t.Errorf("--verify skip-missing: no warning naming the pin, the path and the fix:\n%s", output)
	}
	if names := manifestPins(t, out); !slices.Equal(names, []string{hello.pinName}) {
		t.Errorf("--verify skip-missing published %v, want only %s", names, hello.pinName)
	}

	output, out, err = publish("warn")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(output, `warning: pin "`+gone.pinName+`": `) || !slices.Contains(manifestPins(t, out), gone.pinName) {
		t.Fatalf("--verify warn: want the pin published with a warning:\n%s", output)
	}
	// What verification saves users from: Nix cannot get the pin.
	host, nix, err := in.newDir("gone-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(host)
	if err := os.Mkdir(host+"/home", 0o755); err != nil {
		t.Fatal(err)
	}
	steps := cells()[slices.IndexFunc(cells(), func(c cell) bool { return c.id == "build-f" })].steps
	env := in.env(nix+"/home", nixConf{substituter: fx.substituter, publicKey: fx.publicKey})
	r := in.run(ctx, env, steps(cellInput{site: site + "/warn", work: nix, pin: gone})[0]...)
	t.Logf("$ %s (%v)", shellJoin(r.argv), exitText(r.err))
	if r.err == nil || !strings.Contains(r.log.text, fx.gone) {
		t.Errorf("Nix built the pin that no cache holds, or failed without naming it:\n%s", r.describe())
	}
}

// manifestPins lists the pin names of a site's pins.json.
func manifestPins(t *testing.T, site string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(site, "pins.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct{ Pins []struct{ Pin string } }
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range m.Pins {
		names = append(names, p.Pin)
	}
	return names
}
