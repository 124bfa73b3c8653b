package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kwbauson/create-pin-refs/pkg/pins"
	"github.com/kwbauson/create-pin-refs/pkg/retry"
	"github.com/kwbauson/create-pin-refs/pkg/site"
)

// publish runs the bare command with waits that return at once, and reads
// the pins of the site it wrote, if any.
func publish(t *testing.T, environ map[string]string, args ...string) (output, *site.ManifestData) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "site")
	var stdout, stderr strings.Builder
	// The pins are verified against the fake's cache alone: no request may
	// leave the machine.
	code := Main(context.Background(), append(args, "--out", out, "--upstream", "none"), Env{
		Getenv:  func(k string) string { return environ[k] },
		Stdout:  &stdout,
		Stderr:  &stderr,
		Version: "test",
		Retry:   retry.Policy{Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }},
	})
	if strings.Contains(stdout.String()+stderr.String(), token) {
		t.Errorf("the token was printed:\n%s", stderr.String())
	}
	r := output{code, stdout.String(), stderr.String()}
	data, err := os.ReadFile(filepath.Join(out, site.Manifest))
	if err != nil {
		return r, nil
	}
	var m site.ManifestData
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return r, &m
}

func TestPinThenPublish(t *testing.T) {
	system, ok := pins.NixSystem(runtime.GOOS, runtime.GOARCH)
	if !ok {
		t.Skip("no Nix system for this platform")
	}
	result := filepath.Join(t.TempDir(), "result")
	if err := os.Symlink(pushed, result); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"CACHIX_AUTH_TOKEN": token,
		// As the runner passes a multi-line input.
		"INPUT_PIN":      "hello.{system}=" + result + "\ndocs=" + pushed2 + "\n",
		"INPUT_PIN-KEEP": "revisions:10",
	}

	t.Run("pinned and published", func(t *testing.T) {
		srv := pinFake(t, "")
		srv.SetListLag(1)
		r, m := publish(t, env, "--cache", "demo", "--cachix-url", srv.URL())
		if r.code != ExitOK || m == nil {
			t.Fatalf("exit %d:\n%s", r.code, r.stderr)
		}
		if !strings.Contains(r.stderr, "== Pinning\n") || !strings.Contains(r.stderr, "pinned hello."+system+" to "+pushed) {
			t.Errorf("stderr:\n%s", r.stderr)
		}
		got := map[string]string{}
		for _, p := range m.Pins {
			got[p.PinName] = p.StorePath
		}
		if got["hello."+system] != pushed || got["docs"] != pushed2 || len(got) != 2 {
			t.Errorf("published %v, want both new pins", got)
		}
		for _, req := range srv.PinRequests() {
			if !strings.Contains(string(req.Body), `"keep":{"tag":"Revisions","contents":10}`) {
				t.Errorf("body %s lacks the keep policy", req.Body)
			}
		}
	})
	t.Run("never listed", func(t *testing.T) {
		srv := pinFake(t, "")
		srv.SetListLag(1000)
		r, m := publish(t, env, "--cache", "demo", "--cachix-url", srv.URL())
		if r.code != ExitError || m != nil || !strings.Contains(r.stderr, "not publishing a bundle without it") {
			t.Errorf("exit %d, site written: %v:\n%s", r.code, m != nil, r.stderr)
		}
	})
	t.Run("not pushed", func(t *testing.T) {
		srv := pinFake(t, "")
		bad := map[string]string{"CACHIX_AUTH_TOKEN": token, "INPUT_PIN": "hello=" + result + "\ntool=" + missing}
		r, m := publish(t, bad, "--cache", "demo", "--cachix-url", srv.URL())
		if r.code != ExitError || m != nil || !strings.Contains(r.stderr, `pin "tool": `+missing+" is not in the binary cache") {
			t.Errorf("exit %d, site written: %v:\n%s", r.code, m != nil, r.stderr)
		}
		if n := len(srv.PinRequests()); n != 1 {
			t.Errorf("%d pins made, want only hello's", n)
		}
	})
	t.Run("checked before any request", func(t *testing.T) {
		srv := pinFake(t, "")
		bad := map[string]string{"CACHIX_AUTH_TOKEN": token, "INPUT_PIN": "hello=" + result + "\n__functor=" + pushed}
		r, _ := publish(t, bad, "--cache", "demo", "--cachix-url", srv.URL())
		if r.code != ExitError || !strings.Contains(r.stderr, `--pin: pin "__functor": the name`) || len(srv.Requests()) != 0 {
			t.Errorf("exit %d, %d requests:\n%s", r.code, len(srv.Requests()), r.stderr)
		}
	})
}

func TestPinOptions(t *testing.T) {
	for _, tt := range []struct {
		env  map[string]string
		args []string
		err  string
	}{
		{map[string]string{"INPUT_PIN": "hello=result"}, []string{"--cache", "demo"}, "--auth-token: required with --pin"},
		{map[string]string{"INPUT_PIN": "hello"}, []string{"--cache", "demo", "--auth-token", token}, `--pin: "hello" is not NAME=PATH`},
		{nil, []string{"--cache", "demo", "--auth-token", token, "--pin", "a=b", "--pin", "a=c"}, `--pin: "a" is given twice`},
		{nil, []string{"--cache", "demo", "--auth-token", token, "--pin", "a.{arch}=b"}, `the only placeholder is {system}`},
		{nil, []string{"--pins-file", "x.json", "--substituter", "https://demo.cachix.org", "--auth-token", token, "--pin", "a=b"}, "--pin: cannot be used with --pins-file"},
		{nil, []string{"--cache", "demo", "--auth-token", token, "--pin", "a=b", "--pin-keep", "weeks:3"}, `--pin-keep: "weeks:3" is not revisions:N, days:N or forever`},
		{nil, []string{"--cache", "demo", "--auth-token", token, "--pin", "a=b", "--pin-keep", "days:0"}, `--pin-keep: "days:0"`},
		{nil, []string{"--cache", "demo", "--pin-keep", "forever"}, "--pin-keep: given without --pin"},
	} {
		r := runCmd(t, tt.env, tt.args...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, tt.err) {
			t.Errorf("%v %q: exit %d:\n%s\nwant exit 2 and %q", tt.env, tt.args, r.code, r.stderr, tt.err)
		}
	}
}
