package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kwbauson/create-pin-refs/test/fakecachix"
)

// checkPinCommand pins a path the way a build job does, with the real CLI:
// from a `result` link to a store path this machine does not hold (as in the
// action's container), checked against the narinfos `nix copy` wrote, created
// through a local Cachix. Then `nix-store -r $(create-pin-refs resolve …)`
// substitutes it, as the README shows; and a path never pushed is refused.
func checkPinCommand(t *testing.T, srv *servers, in *install, fx *fixture) {
	ctx := t.Context()
	i := slices.IndexFunc(fx.pins, func(p testPin) bool { return p.name == "hello" })
	if i < 0 {
		t.Fatal("no hello pin")
	}
	hello := fx.pins[i]
	const token = "cpr-e2e-write-token"
	name := fx.cache + "-pin"
	local := fakecachix.Start(t, fakecachix.Options{Caches: []fakecachix.Cache{{
		Name: name, PublicSigningKeys: []string{fx.publicKey}, Dir: fx.cacheDir,
	}}})
	local.SetWriteToken(token)
	if err := in.forget(ctx, hello.closure); err != nil {
		t.Fatal(err)
	}

	work := t.TempDir()
	result := filepath.Join(work, "result")
	if err := os.Symlink(hello.path, result); err != nil {
		t.Fatal(err)
	}
	pinName := "hello." + in.system
	env := []string{"CACHIX_AUTH_TOKEN=" + token}
	api := []string{"--cache", name, "--cachix-url", local.URL()}
	out, err := runCLIEnv(ctx, t, srv.cli, env, append([]string{"pin", pinName, result, "--artifact", "bin/hello", "--keep-revisions", "3"}, api...)...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "pinned "+pinName+" to "+hello.path) {
		t.Errorf("pin said:\n%s", out)
	}
	if narinfo := "GET /cache/" + name + "/" + strings.TrimPrefix(hello.path, "/nix/store/")[:32] + ".narinfo"; !slices.Contains(local.Requests(), narinfo) {
		t.Errorf("pin did not ask the binary cache for the narinfo (%s): %v", narinfo, local.Requests())
	}
	reqs := local.PinRequests()
	var body struct {
		StorePath string
		Keep      struct{ Tag string }
	}
	if len(reqs) != 1 || json.Unmarshal(reqs[0].Body, &body) != nil || body.StorePath != hello.path || body.Keep.Tag != "Revisions" {
		t.Fatalf("pins created: %+v", reqs)
	}

	// A path the cache lacks is refused, and no pin is made.
	// A hash of its own: other tests use made-up hashes too.
	random := make([]byte, 32)
	rand.Read(random)
	for i, b := range random {
		random[i] = "0123456789abcdfghijklmnpqrsvwxyz"[b%32]
	}
	missing := "/nix/store/" + string(random) + "-cpr-e2e-never-pushed"
	out, err = runCLIEnv(ctx, t, srv.cli, env, append([]string{"pin", "never", missing}, api...)...)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(out, "push it to cache") || len(local.PinRequests()) != 1 {
		t.Errorf("pinning a path never pushed: %v, %d pins:\n%s", err, len(local.PinRequests()), out)
	}

	// resolve prints the path alone, which nix-store -r then substitutes.
	cmd := exec.CommandContext(ctx, srv.cli, append([]string{"resolve", "hello", "--system", in.system}, api...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stdout.String() != hello.path+"\n" {
		t.Fatalf("resolve: %v, stdout %q, stderr:\n%s", err, stdout.String(), stderr.String())
	}
	host, nix, err := in.newDir("pin-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(host)
	conf := nixConf{substituter: local.CacheURL(name), publicKey: fx.publicKey}
	r := in.run(ctx, in.env(nix+"/home", conf), "nix-store", "-r", strings.TrimSpace(stdout.String()))
	t.Logf("$ %s (%s, %v)", shellJoin(r.argv), r.took.Round(time.Millisecond), exitText(r.err))
	if r.err != nil || r.stdout != hello.path {
		t.Fatalf("nix-store -r $(create-pin-refs resolve …):\n%s", r.describe())
	}
	if inv, err := in.invalid(context.Background(), hello.closure); err != nil || len(inv) > 0 {
		t.Errorf("after nix-store -r, still missing %v (%v)", inv, err)
	}
}
