package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
)

// packagesNix builds the test packages. Builders have no PATH, hence /bin/…. Every
// program prints the run's nonce, so a stale store path cannot pass for a fresh
// one, and each prints a line of its own, so one pin cannot pass for another.
const packagesNix = `{ nonce }:
let
  pkg = name: script: derivation {
    name = "cpr-e2e-${nonce}-${name}";
    system = builtins.currentSystem;
    builder = "/bin/sh";
    args = [ "-c" ''
      set -e
      /bin/mkdir -p $out/bin
      ${script}
    '' ];
  };
  # A script at $out/bin/FILE that prints LINE.
  prog = file: line: ''
    printf '#!/bin/sh\necho "%s"\n' '${line}' > $out/bin/${file}
    /bin/chmod +x $out/bin/${file}
  '';
  dep = derivation {
    name = "cpr-e2e-${nonce}-dep";
    system = builtins.currentSystem;
    builder = "/bin/sh";
    args = [ "-c" "/bin/mkdir -p $out/share; echo 'cpr-e2e dep ${nonce}' > $out/share/greeting" ];
  };
  splitdep = derivation {
    name = "cpr-e2e-${nonce}-splitdep";
    system = builtins.currentSystem;
    builder = "/bin/sh";
    args = [ "-c" "/bin/mkdir -p $out/share; echo 'cpr-e2e splitdep ${nonce}' > $out/share/greeting" ];
  };
in
{
  hello = pkg "hello" (prog "hello" "cpr-e2e hello ${nonce}");
  tool = pkg "tool" (prog "cpr-tool-main" "cpr-e2e tool ${nonce}");
  # Refers to dep at run time, so its closure has two paths.
  withdep = pkg "withdep" ''
    printf '#!/bin/sh\necho "cpr-e2e withdep %s"\nexec /bin/cat %s/share/greeting\n' '${nonce}' '${dep}' > $out/bin/withdep
    /bin/chmod +x $out/bin/withdep
  '';
  anywhere = pkg "anywhere" (prog "anywhere" "cpr-e2e anywhere ${nonce}");
  versioned = pkg "v1.7" (prog "v1.7" "cpr-e2e v1.7 ${nonce}");
  bothAny = pkg "both-any" (prog "both" "cpr-e2e both (system-less) ${nonce}");
  bothHere = pkg "both-here" (prog "both" "cpr-e2e both (this system) ${nonce}");
  # Its dependency is left to an upstream cache, as Cachix leaves out what
  # cache.nixos.org holds: the closure is split.
  split = pkg "split" ''
    printf '#!/bin/sh\necho "cpr-e2e split %s"\nexec /bin/cat %s/share/greeting\n' '${nonce}' '${splitdep}' > $out/bin/split
    /bin/chmod +x $out/bin/split
  '';
  # Deleted from the binary cache after the copy.
  gone = pkg "gone" (prog "gone" "cpr-e2e gone ${nonce}");
  # hello and v1.7, republished: what a profile upgrade must install.
  helloNext = pkg "hello-next" (prog "hello" "cpr-e2e hello-next ${nonce}");
  versionedNext = pkg "v1.7-next" (prog "v1.7" "cpr-e2e v1.7-next ${nonce}");
  # A store path that is one executable file.
  single = derivation {
    name = "cpr-e2e-${nonce}-single";
    system = builtins.currentSystem;
    builder = "/bin/sh";
    args = [ "-c" "printf '#!/bin/sh\\necho \"cpr-e2e single ${nonce}\"\\n' > $out; /bin/chmod +x $out" ];
  };
}
`

// packageAttrs are the attributes of packagesNix to build.
func packageAttrs() []string {
	return []string{"hello", "tool", "withdep", "anywhere", "versioned", "bothAny", "bothHere", "split", "gone", "helloNext", "versionedNext", "single"}
}

// builtPackage is a test package in the binary cache.
type builtPackage struct {
	out     string
	closure []string
}

// binaryCache is a signed binary cache folder holding the test packages.
type binaryCache struct {
	dir       string                  // as the test sees it
	upstream  string                  // a second binary cache folder, the upstream of dir
	gone      string                  // a package deleted from dir after the copy
	publicKey string                  // for trusted-public-keys
	packages  map[string]builtPackage // by derivation name without the cpr-e2e-NONCE- prefix
	cleanup   []string                // everything the build put into a store
}

// buildCache builds the test packages in in's store, copies their closures,
// signed, into a binary cache folder, and deletes from the store everything the
// build made, so that only substitution can bring the packages back.
func buildCache(ctx context.Context, in *install, nonce string) (*binaryCache, error) {
	host, nix, err := in.newDir("cache-")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(host, "packages.nix"), []byte(packagesNix), 0o644); err != nil {
		return nil, err
	}
	r := in.admin(ctx, "nix-store", "--generate-binary-cache-key", "cpr-e2e-1", nix+"/secret.key", nix+"/public.key")
	if r.err != nil {
		return nil, errors.New(r.describe())
	}
	key, err := os.ReadFile(filepath.Join(host, "public.key"))
	if err != nil {
		return nil, err
	}
	bc := &binaryCache{dir: filepath.Join(host, "binary-cache"), publicKey: strings.TrimSpace(string(key)), packages: map[string]builtPackage{}}

	argv := []string{"nix", "build", "--log-format", "internal-json", "--no-link", "--json", "-f", nix + "/packages.nix", "--argstr", "nonce", nonce}
	r = in.admin(ctx, append(argv, packageAttrs()...)...)
	if r.err != nil {
		return nil, fmt.Errorf("building the test packages: %s", r.describe())
	}
	var results []struct {
		DrvPath string
		Outputs map[string]string
	}
	if err := json.Unmarshal([]byte(r.stdout), &results); err != nil {
		return nil, fmt.Errorf("nix build --json: %w in %q", err, r.stdout)
	}
	prefix := "cpr-e2e-" + nonce + "-"
	var outs, drvs []string
	for _, res := range results {
		out := res.Outputs["out"]
		_, name, _ := strings.Cut(filepath.Base(out), "-")
		name, ok := strings.CutPrefix(name, prefix)
		if !ok {
			return nil, fmt.Errorf("nix build --json: unexpected output %q", out)
		}
		r := in.admin(ctx, "nix-store", "-q", "--requisites", out)
		if r.err != nil {
			return nil, errors.New(r.describe())
		}
		bc.packages[name] = builtPackage{out: out, closure: strings.Fields(r.stdout)}
		outs = append(outs, out)
		drvs = append(drvs, res.DrvPath)
	}
	ca, err := addContentAddressed(ctx, in, nonce)
	if err != nil {
		return nil, err
	}
	bc.packages["ca"] = builtPackage{out: ca, closure: []string{ca}}
	outs = append(outs, ca)
	if len(bc.packages) != len(packageAttrs())+1 {
		return nil, fmt.Errorf("nix build --json: want %d packages, got %q", len(packageAttrs()), r.stdout)
	}
	r = in.admin(ctx, append([]string{"nix-store", "-q", "--requisites"}, drvs...)...)
	if r.err != nil {
		return nil, errors.New(r.describe())
	}
	bc.cleanup = append(outs, strings.Fields(r.stdout)...)
	for _, p := range bc.packages {
		bc.cleanup = append(bc.cleanup, p.closure...)
	}
	// The suite deletes what it built, so all of it must be this run's: a path
	// without the nonce (a builtins.toFile, a source) is the same path in every
	// run and may be in use by another one.
	for _, p := range bc.cleanup {
		if !strings.Contains(filepath.Base(p), prefix) {
			return nil, fmt.Errorf("the test packages' closure has %s, which is not this run's (no %q in its name): give it the nonce", p, prefix)
		}
	}

	// The binary cache store signs what it receives with secret-key, without
	// touching the local store's signatures (a multi-user store may refuse).
	to := "file://" + nix + "/binary-cache?secret-key=" + nix + "/secret.key"
	r = in.admin(ctx, append([]string{"nix", "copy", "--to", to}, outs...)...)
	if r.err != nil {
		return nil, fmt.Errorf("copying to the binary cache: %s", r.describe())
	}
	if err := arrangeCaches(ctx, in, bc, nix, nonce); err != nil {
		return nil, err
	}
	if err := in.forget(ctx, bc.cleanup); err != nil {
		return nil, err
	}
	return bc, nil
}

// testPin is one pin of the local Cachix and what using it must do.
type testPin struct {
	pinName string // as Cachix lists it
	name    string // the attribute users select
	program string // the app's executable, inside the store path
	path    string
	// closure must be absent before a cell, and substituted from the cache by it.
	closure []string
	// upstream are the paths of closure that come from the upstream cache.
	upstream []string
	// absent must stay absent (the system-less twin of a system-specific pin).
	absent []string
	want   []string // lines the program prints
	// foreign pins exist only for another system: commands must fail as for any
	// missing attribute.
	foreign   bool
	artifacts []string
	// kind is "" for a folder with a program, else "single" (a store path that
	// is one file), "ca" (a content-addressed path) or "escaped" (a name whose
	// one-name bundle's file name is escaped): such pins run only the cells of
	// their kind.
	kind string
}

// makePins lists the pins the cells run, one per kind of name and program the
// bundle must handle, and extra pins that are only listed.
func makePins(bc *binaryCache, system, nonce string) (tested, extra []testPin) {
	pkg := func(name string) builtPackage { return bc.packages[name] }
	line := func(s string) string { return "cpr-e2e " + s + " " + nonce }
	simple := func(pinName, name, pkgName, program, out string) testPin {
		p := pkg(pkgName)
		return testPin{pinName: pinName, name: name, program: program, path: p.out, closure: p.closure, want: []string{line(out)}}
	}
	other := "aarch64-darwin"
	if system == other {
		other = "x86_64-linux"
	}
	hello := simple("hello."+system, "hello", "hello", "bin/hello", "hello")
	tool := simple("tool."+system, "tool", "tool", "bin/cpr-tool-main", "tool")
	tool.artifacts = []string{"bin/cpr-tool-main"}
	withdep := simple("withdep."+system, "withdep", "withdep", "bin/withdep", "withdep")
	withdep.want = append(withdep.want, line("dep"))
	anywhere := simple("anywhere", "anywhere", "anywhere", "bin/anywhere", "anywhere")
	versioned := simple("v1.7."+system, "v1.7", "v1.7", "bin/v1.7", "v1.7")
	both := simple("both."+system, "both", "both-here", "bin/both", "both (this system)")
	both.absent = []string{pkg("both-any").out}
	bothAny := testPin{pinName: "both", path: pkg("both-any").out}
	// A valid-looking path that no cache holds: it must never be asked for.
	elsewhere := testPin{
		pinName: "elsewhere." + other, name: "elsewhere", program: "bin/elsewhere",
		path: storeDir + "/" + strings.Repeat("0", 32) + "-cpr-e2e-" + nonce + "-elsewhere", foreign: true,
	}
	split := simple("split."+system, "split", "split", "bin/split", "split")
	split.want = append(split.want, line("splitdep"))
	for _, p := range split.closure {
		if strings.HasSuffix(p, "-splitdep") {
			split.upstream = append(split.upstream, p)
		}
	}
	ca := simple("ca."+system, "ca", "ca", "bin/ca", "ca")
	single := simple("single."+system, "single", "single", "bin/single", "single")
	single.kind = "single"
	// hello again, by a name whose one-name bundle's segment is escaped.
	spaced := hello
	spaced.pinName, spaced.name, spaced.artifacts, spaced.kind = "hello world."+system, "hello world", []string{"bin/hello"}, "escaped"
	return []testPin{hello, tool, withdep, anywhere, versioned, both, elsewhere, split, ca, single, spaced}, []testPin{bothAny}
}

// cachixPins is what the local Cachix lists for pins.
func cachixPins(pins []testPin) []cachix.Pin {
	var out []cachix.Pin
	for i, p := range pins {
		out = append(out, cachix.Pin{
			Name:      p.pinName,
			CreatedOn: "2026-01-01T00:00:00Z",
			LastRevision: cachix.Revision{
				StorePath: p.path,
				CreatedOn: "2026-01-01T00:00:00Z",
				Revision:  i + 1,
				Artifacts: p.artifacts,
			},
		})
	}
	return out
}

// buildCLI builds the command from the repository root, as users do.
func buildCLI(ctx context.Context, dir string) (string, error) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(root, "main.go")); err != nil {
		return "", fmt.Errorf("repository root not found: %w", err)
	}
	bin := filepath.Join(dir, "create-pin-refs")
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = root
	cmd.WaitDelay = waitDelay
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// runCLI runs the CLI with args, the way a user's job does, and returns what
// it printed.
func runCLI(ctx context.Context, t *testing.T, bin string, args ...string) (string, error) {
	return runCLIEnv(ctx, t, bin, nil, args...)
}

// runCLIEnv is runCLI with env (KEY=VALUE) in the CLI's environment. The log
// shows the keys only, since the values may be secrets. The error wraps the
// *exec.ExitError of a CLI that failed.
func runCLIEnv(ctx context.Context, t *testing.T, bin string, env []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	// No CACHIX_AUTH_TOKEN, GITHUB_* or INPUT_* from the test's environment.
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	cmd.WaitDelay = waitDelay
	output, err := cmd.CombinedOutput()
	var shown string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		shown += k + "=… "
	}
	t.Logf("$ %s%s\n%s", shown, shellJoin(cmd.Args), output)
	if err != nil {
		return string(output), fmt.Errorf("create-pin-refs: %w", err)
	}
	return string(output), nil
}

// checkSite checks a site's layout: the tarball under both names, the pin list
// and the bundle.
func checkSite(dir string) error {
	tarball, err := os.ReadFile(filepath.Join(dir, "pins"))
	if err != nil {
		return err
	}
	tgz, err := os.ReadFile(filepath.Join(dir, "pins.tar.gz"))
	if err != nil {
		return err
	}
	if !bytes.Equal(tarball, tgz) {
		return errors.New("the site's pins and pins.tar.gz differ")
	}
	for _, f := range []string{"pins.json", "bundle/flake.nix", "bundle/default.nix"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return fmt.Errorf("the site lacks %s: %w", f, err)
		}
	}
	return nil
}

// serveDir serves a folder over HTTP on the loopback interface until cleanup.
func serveDir(t *testing.T, dir string) string {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.FileServer(http.Dir(dir)))
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}
