package config

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

func TestLoadPin(t *testing.T) {
	env := func(k string) string {
		return map[string]string{"CACHIX_AUTH_TOKEN": "env-token"}[k]
	}
	tests := []struct {
		name       string
		args       []string
		wantName   string
		wantPath   string
		wantToken  string
		wantKeep   string
		wantArts   int
		wantWait   time.Duration
		wantErrUse bool
	}{
		{name: "flags first", args: []string{"--cache", "c", "--keep-days", "3", "hello", "result"}, wantName: "hello", wantPath: "result", wantToken: "env-token", wantKeep: "3 days", wantWait: DefaultPinWait},
		{name: "flags mixed in", args: []string{"hello", "--cache", "c", "result", "--artifact", "bin/a", "--artifact", "bin/b", "--wait", "5s", "--auth-token", "flag-token"},
			wantName: "hello", wantPath: "result", wantToken: "flag-token", wantKeep: "Cachix's default", wantArts: 2, wantWait: 5 * time.Second},
		{name: "after --", args: []string{"--cache", "c", "--keep-forever", "--", "-odd", "--artifact"}, wantName: "-odd", wantPath: "--artifact", wantToken: "env-token", wantKeep: "forever", wantWait: DefaultPinWait},
		{name: "three arguments", args: []string{"--cache", "c", "a", "b", "c"}, wantErrUse: true},
		{name: "unknown flag", args: []string{"--cache", "c", "--keep", "a", "b"}, wantErrUse: true},
		{name: "the system placeholder", args: []string{"--cache", "c", "hello.{system}", "result"}, wantName: "hello.{system}", wantPath: "result", wantToken: "env-token", wantKeep: "Cachix's default", wantWait: DefaultPinWait},
		{name: "another placeholder", args: []string{"--cache", "c", "hello.{sys}", "result"}, wantErrUse: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := LoadPin(tt.args, env, io.Discard)
			if tt.wantErrUse {
				if !errors.Is(err, ErrUsage) {
					t.Fatalf("err = %v, want a usage error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Name != tt.wantName || cfg.Path != tt.wantPath || cfg.AuthToken != tt.wantToken || cfg.Keep.String() != tt.wantKeep ||
				len(cfg.Artifacts) != tt.wantArts || cfg.Wait != tt.wantWait || cfg.CachixURL != "https://app.cachix.org" {
				t.Errorf("got %+v (keep %s)", cfg, cfg.Keep)
			}
		})
	}
}

func TestIsCommand(t *testing.T) {
	for arg, want := range map[string]bool{"list": true, "resolve": true, "pin": true, "version": true, "--version": false, "--cache": false, "publish": false, "": false} {
		if IsCommand(arg) != want {
			t.Errorf("IsCommand(%q) = %v", arg, !want)
		}
	}
}

// TestLoadResolveSystem: --system must be a Nix system, checked before any
// request.
func TestLoadResolveSystem(t *testing.T) {
	for system, ok := range map[string]bool{"": true, "x86_64-linux": true, "riscv64-linux": true, "bogus": false, "x86_64-Linux": false} {
		_, err := LoadResolve([]string{"--cache", "c", "--system", system, "hello"}, func(string) string { return "" }, io.Discard)
		if (err == nil) != ok || !ok && !errors.Is(err, ErrUsage) {
			t.Errorf("--system %q: %v", system, err)
		}
	}
}

// TestLoadPinStore: `pin --store` takes none of what only Cachix means, and
// a name that makes one plain object, each refused before any request.
func TestLoadPinStore(t *testing.T) {
	env := func(k string) string { return map[string]string{"CACHIX_AUTH_TOKEN": "env-token"}[k] }
	for _, tt := range []struct {
		name string
		args []string
		want string // "": accepted
	}{
		{"plain", []string{"hello.x86_64-linux", "result"}, ""},
		{"a substituter", []string{"--substituter", "https://cache.example", "hello", "result"}, ""},
		{"--cache", []string{"--cache", "c", "hello", "result"}, "takes none of --cache"},
		{"--wait", []string{"--wait", "5s", "hello", "result"}, "takes none of --wait"},
		{"--keep-days and --artifact", []string{"--keep-days", "3", "--artifact", "bin/a", "hello", "result"}, "takes none of --artifact, --keep-days"},
		{"a slash", []string{"a/b", "result"}, `"a/b" cannot name an S3 cache's pin`},
		{"a leading dot", []string{".hidden", "result"}, `".hidden" cannot name`},
		{"a space", []string{"x y", "result"}, `"x y" cannot name`},
		{"keys", []string{"--public-keys", "a-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=, b-1:EXKwx6xcBC2Fbj08yqPLzmH062nBRbpIcsZuuc6yRwU=", "hello", "result"}, ""},
		{"a bad key", []string{"--public-keys", "a-1:AAAA", "hello", "result"}, "--public-keys: "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := LoadPin(append([]string{"--store", "s3://cache/nix"}, tt.args...), env, io.Discard)
			if tt.name == "keys" && err == nil && len(cfg.PublicKeys) != 2 {
				t.Errorf("--public-keys: %q, want two keys", cfg.PublicKeys)
			}
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("LoadPin: %v, want no error", err)
			case tt.want != "" && (!errors.Is(err, ErrUsage) || !strings.Contains(fmt.Sprint(err), tt.want)):
				t.Errorf("LoadPin: %v, want a usage error saying %q", err, tt.want)
			}
		})
	}
	// Cachix signs its caches' narinfo files with their own keys.
	if _, err := LoadPin([]string{"--cache", "c", "--auth-token", "t", "--public-keys", "a-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=", "hello", "result"}, env, io.Discard); !errors.Is(err, ErrUsage) || !strings.Contains(fmt.Sprint(err), "only with --store") {
		t.Errorf("--public-keys without --store: %v, want a usage error", err)
	}
}
