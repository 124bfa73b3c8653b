package action_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/kwbauson/create-pin-refs/pkg/pins"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
	"github.com/kwbauson/create-pin-refs/test/fakecachix"
)

// TestRunnerPinThenPublish runs the step of a build job: the `pin` input names
// the `result` link nix build left in the workspace, pointing to a store path
// this machine does not have (the action's container has no /nix/store). The
// step pins it, on the runner's system, and the branch it publishes holds it.
func TestRunnerPinThenPublish(t *testing.T) {
	system, ok := pins.NixSystem(runtime.GOOS, runtime.GOARCH)
	if !ok {
		t.Skip("no Nix system for this platform")
	}
	const built = "/nix/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-hello-2.13"
	f := startFakes(t)
	dir := t.TempDir()
	if err := fakecachix.WriteNarInfos(dir, fakecachix.NarInfo{StorePath: built, NarSize: 2048}); err != nil {
		t.Fatal(err)
	}
	raw, err := cachix.ReadPinsFile(filepath.Join(root, "examples", "pins.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.cachix.SetCache(fakecachix.Cache{Name: cacheName, Pins: raw, PublicSigningKeys: []string{cacheName + "-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY="}, Dir: dir}); err != nil {
		t.Fatal(err)
	}
	r := f.runner(t)
	if err := os.Symlink(built, filepath.Join(r.workspace, "result")); err != nil {
		t.Fatal(err)
	}

	res := r.run(f.with(map[string]string{
		"mode":     "branch",
		"pin":      "hello.{system}=result\nhello-next=result\n",
		"pin-keep": "days:30",
	}))
	defer logStep(t, "pin and publish", res)
	if res.code != 0 {
		t.Fatalf("exit code %d, want 0", res.code)
	}
	checkMasking(t, res, f.secrets())
	if !strings.Contains(res.stdout, "::group::Pinning\n") || !strings.Contains(res.stdout, "pinned hello."+system+" to "+built) {
		t.Errorf("stdout lacks the Pinning group or its lines:\n%s", res.stdout)
	}
	// examples/pins.json has 7 pins; hello.SYSTEM gets a new revision (or
	// is new, on a system it lacks), hello-next is new.
	want := "8"
	if system != "x86_64-linux" && system != "aarch64-linux" && system != "aarch64-darwin" {
		want = "9"
	}
	checkOutputs(t, res.outputs, map[string]string{"pins": want, "changed": "true"})
	for _, name := range []string{"hello." + system, "hello-next"} {
		revs := f.cachix.Revisions(cacheName, name)
		if len(revs) != 1 || revs[0].StorePath != built {
			t.Errorf("revisions of %s: %+v, want one of %s", name, revs, built)
		}
	}
	for _, req := range f.cachix.PinRequests() {
		if !strings.Contains(string(req.Body), `"keep":{"tag":"Days","contents":30}`) {
			t.Errorf("pin request %s lacks the keep policy", req.Body)
		}
	}
	tree := gitCmd(t, "-C", f.github.GitDir, "grep", "-c", built, "refs/heads/pins", "--", ".")
	if tree == "" {
		t.Errorf("the pins branch does not hold %s", built)
	}
	checkNoSecretInFiles(t, r.workspace, f.secrets())
}
