package config

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kwbauson/create-pin-refs/pkg/pins"
	"github.com/kwbauson/create-pin-refs/pkg/verify"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// withDefaults fills the settings that every case leaves at their defaults.
func withDefaults(c Config) Config {
	c.Branch = "pins"
	c.GitHubAPIURL = "https://api.github.com"
	if c.Verify == "" {
		c.Verify = verify.Fail
	}
	if c.Upstream == nil {
		c.Upstream = []string{"https://cache.nixos.org"}
	}
	if c.Concurrency == 0 {
		c.Concurrency = 100
	}
	if c.Artifact == "" {
		c.Artifact = "_site-artifact/artifact.tar"
	}
	if c.PerPinURLs == "" {
		c.PerPinURLs = PerPinAuto
	}
	if c.KeepBundles == 0 {
		c.KeepBundles = 10
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Minute
	}
	if c.ReverifyAfter == 0 {
		c.ReverifyAfter = 7 * 24 * time.Hour
	}
	return c
}

func TestLoadPrecedence(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want Config
	}{
		{
			name: "defaults",
			args: []string{"--cache", "c"},
			want: Config{Cache: "c", CachixURL: "https://app.cachix.org", OnInvalid: pins.Fail, Out: "_site", Mode: ModeDir},
		},
		{
			name: "inputs with hyphens kept",
			env: map[string]string{
				"INPUT_CACHE": "from-input", "INPUT_AUTH-TOKEN": "t1", "INPUT_ON-INVALID": "skip",
				"INPUT_ALLOW-EMPTY": "true", "INPUT_INCLUDE": "a*, b*\nc", "INPUT_MODE": "pages", "GITHUB_REPOSITORY": "o/r",
			},
			want: Config{Cache: "from-input", AuthToken: "t1", CachixURL: "https://app.cachix.org", Include: []string{"a*", "b*", "c"}, Repo: "o/r",
				OnInvalid: pins.Skip, AllowEmpty: true, Out: "_site", Mode: ModePages},
		},
		{
			name: "flag beats input beats environment",
			args: []string{"--auth-token", "flag"},
			env:  map[string]string{"INPUT_CACHE": "c", "INPUT_AUTH-TOKEN": "input", "CACHIX_AUTH_TOKEN": "env"},
			want: Config{Cache: "c", AuthToken: "flag", CachixURL: "https://app.cachix.org", OnInvalid: pins.Fail, Out: "_site", Mode: ModeDir},
		},
		{
			name: "empty input falls through to the environment",
			env:  map[string]string{"INPUT_CACHE": "c", "INPUT_AUTH-TOKEN": "", "CACHIX_AUTH_TOKEN": "env"},
			want: Config{Cache: "c", AuthToken: "env", CachixURL: "https://app.cachix.org", OnInvalid: pins.Fail, Out: "_site", Mode: ModeDir},
		},
		{
			name: "verification settings",
			args: []string{"--cache", "c", "--verify", "skip-missing", "--upstream", "none", "--concurrency", "4"},
			want: Config{Cache: "c", CachixURL: "https://app.cachix.org", OnInvalid: pins.Fail, Out: "_site", Mode: ModeDir,
				Verify: verify.SkipMissing, Upstream: []string{}, Concurrency: 4},
		},
		{
			name: "reverification from inputs",
			env:  map[string]string{"INPUT_CACHE": "c", "INPUT_REVERIFY": "true", "INPUT_REVERIFY-AFTER": "2d"},
			want: Config{Cache: "c", CachixURL: "https://app.cachix.org", OnInvalid: pins.Fail, Out: "_site", Mode: ModeDir,
				Reverify: true, ReverifyAfter: 48 * time.Hour},
		},
		{
			name: "reverify-after as a duration",
			args: []string{"--cache", "c", "--reverify-after", "36h"},
			want: Config{Cache: "c", CachixURL: "https://app.cachix.org", OnInvalid: pins.Fail, Out: "_site", Mode: ModeDir, ReverifyAfter: 36 * time.Hour},
		},
		{
			name: "upstream caches from an input",
			env:  map[string]string{"INPUT_CACHE": "c", "INPUT_UPSTREAM": "https://a.example\nhttp://127.0.0.1:9/b", "INPUT_VERIFY": "warn"},
			want: Config{Cache: "c", CachixURL: "https://app.cachix.org", OnInvalid: pins.Fail, Out: "_site", Mode: ModeDir,
				Verify: verify.Warn, Upstream: []string{"https://a.example", "http://127.0.0.1:9/b"}},
		},
		{
			name: "repeated list flags add up",
			args: []string{"--cache", "c", "--exclude", "a,b", "--exclude", "c", "--allow-empty"},
			want: Config{Cache: "c", CachixURL: "https://app.cachix.org", Exclude: []string{"a", "b", "c"}, OnInvalid: pins.Fail, AllowEmpty: true, Out: "_site", Mode: ModeDir},
		},
		{
			name: "pins file needs no cache",
			args: []string{"--pins-file", "p.json", "--substituter", "http://127.0.0.1:1"},
			want: Config{PinsFile: "p.json", Substituter: "http://127.0.0.1:1", CachixURL: "https://app.cachix.org", OnInvalid: pins.Fail, Out: "_site", Mode: ModeDir},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Load(tt.args, env(tt.env), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			want := withDefaults(tt.want)
			if diff := cmp.Diff(&want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		mention string
	}{
		{"no cache", nil, nil, "--cache: required"},
		{"bad mode", []string{"--cache", "c", "--mode", "ftp"}, nil, `--mode: "ftp" is not one of dir, pages, branch, s3`},
		{"s3 without a bucket", []string{"--cache", "c", "--mode", "s3", "--site-url", "https://cdn.example/"}, nil, "--s3-url: required in s3 mode"},
		{"s3 without a site URL", []string{"--cache", "c", "--mode", "s3", "--s3-url", "s3://bucket/pins"}, nil, "--site-url: required in s3 mode"},
		{"s3 bad bucket", []string{"--cache", "c", "--mode", "s3", "--s3-url", "s3://B_d/x", "--site-url", "https://cdn.example/"}, nil, "--s3-url: \"s3://B_d/x\": bad bucket name"},
		{"s3 endpoint in the clear", []string{"--cache", "c", "--mode", "s3", "--s3-url", "s3://bucket", "--site-url", "https://cdn.example/", "--s3-endpoint", "http://s3.example.com"}, nil, "--s3-endpoint"},
		{"pins-from without a substituter", []string{"--pins-from", "s3://cache"}, nil, "--substituter: required with --pins-from"},
		{"pins-from without keys", []string{"--pins-from", "s3://cache", "--substituter", "https://cache.example"}, nil, "--public-keys: required with --pins-from"},
		{"pins-from and pins-file", []string{"--pins-from", "s3://cache", "--pins-file", "p.json", "--substituter", "https://cache.example"}, nil, "--pins-from: cannot be used with --pins-file"},
		{"pins-from and cache", []string{"--pins-from", "s3://cache", "--cache", "demo", "--substituter", "https://cache.example"}, nil, "--pins-from: cannot be used with --cache or --cache-info-file"},
		{"pins-from bad URL", []string{"--pins-from", "https://cache", "--substituter", "https://cache.example", "--public-keys", "demo-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY="}, nil, "--pins-from: \"https://cache\": not an s3://BUCKET[/PREFIX] URL"},
		{"s3 setting in another mode", []string{"--cache", "c", "--s3-url", "s3://bucket"}, nil, "--s3-url: only for --mode s3 (the mode is dir)"},
		{"bad mode from input", nil, map[string]string{"INPUT_CACHE": "c", "INPUT_MODE": "x"}, "--mode"},
		{"bad on-invalid", []string{"--cache", "c", "--on-invalid", "ignore"}, nil, "--on-invalid"},
		{"bad glob", []string{"--cache", "c", "--include", "["}, nil, "--include"},
		{"bad bool", []string{"--cache", "c"}, map[string]string{"INPUT_ALLOW-EMPTY": "yes please"}, "--allow-empty"},
		{"bad cache name", []string{"--cache", "a/b"}, nil, "--cache"},
		{"bad cachix url", []string{"--cache", "c", "--cachix-url", "app.cachix.org"}, nil, "--cachix-url"},
		{"credentials in a url", []string{"--cache", "c", "--substituter", "https://u:s3cret@c.cachix.org"}, nil, "holds credentials"},
		{"upper-case cache", []string{"--cache", "MyCache"}, nil, "--cache"},
		{"pages mode without repo", []string{"--cache", "c", "--mode", "pages"}, nil, "--repo"},
		{"pages url with a query", []string{"--cache", "c", "--mode", "pages", "--pages-url", "https://x.org/?a"}, nil, "--pages-url"},
		{"repo of dots", []string{"--cache", "c", "--repo", "o/.."}, nil, "--repo"},
		{"branch with a .lock part", []string{"--cache", "c", "--mode", "branch", "--repo", "o/r", "--github-token", "x", "--branch", "a.lock/b"}, nil, "--branch"},
		{"bad substituter", []string{"--cache", "c", "--substituter", "s3://bucket"}, nil, "--substituter"},
		{"unknown flag", []string{"--cahce", "c"}, nil, "cahce"},
		{"branch mode without repo", []string{"--cache", "c", "--mode", "branch", "--github-token", "x"}, nil, "--repo: required in branch mode"},
		{"branch mode without token", []string{"--cache", "c", "--mode", "branch", "--repo", "o/r"}, nil, "--github-token: required"},
		{"bad branch", []string{"--cache", "c", "--mode", "branch", "--repo", "o/r", "--github-token", "x", "--branch", "a..b"}, nil, "--branch"},
		{"bad repo", nil, map[string]string{"INPUT_CACHE": "c", "GITHUB_REPOSITORY": "just-a-name"}, "--repo"},
		{"bad author", []string{"--cache", "c", "--commit-author", "nobody"}, nil, "--commit-author"},
		{"author outside branch mode", []string{"--cache", "c", "--mode", "s3", "--s3-url", "s3://b/p", "--site-url", "https://b.example/p/", "--commit-author", "A <a@b.c>"}, nil, "--commit-author: only in branch mode"},
		{"bad pages url", []string{"--cache", "c", "--pages-url", "example.org"}, nil, "--pages-url"},
		{"keep-bundles not a number", []string{"--cache", "c", "--keep-bundles", "all"}, nil, `--keep-bundles: "all" is not a number from 1 to`},
		{"keep-bundles zero", []string{"--cache", "c", "--keep-bundles", "0"}, nil, "--keep-bundles"},
		{"stray argument", []string{"--cache", "c", "extra"}, nil, `unexpected argument "extra"`},
		{"a command misspelt", []string{"lst", "--cache", "c"}, nil, `unknown command "lst": did you mean list?`},
		{"a command with letters swapped", []string{"reslove"}, nil, `unknown command "reslove": did you mean resolve?`},
		{"a word far from any command", []string{"publish", "--cache", "c"}, nil, `unexpected argument "publish" (all settings are flags)`},
		{"timeout not a duration", []string{"--cache", "c", "--timeout", "10"}, nil, `--timeout: "10" is not a duration`},
		{"timeout too short", []string{"--cache", "c", "--timeout", "1ms"}, nil, "--timeout"},
		{"cachix token over plain http", []string{"--cache", "c", "--cachix-url", "http://cachix.example.com"}, map[string]string{"CACHIX_AUTH_TOKEN": "t"}, "--cachix-url: a token would be sent in clear over http to http://cachix.example.com:80"},
		{"github token over plain http", []string{"--cache", "c", "--mode", "branch", "--repo", "o/r", "--github-token", "x", "--github-api-url", "http://ghe.example.com/api/v3"}, nil, "--github-api-url: a token would be sent in clear"},
		{"bad verify", []string{"--cache", "c", "--verify", "maybe"}, nil, `--verify: "maybe" is not one of fail, warn, skip-missing, off`},
		{"bad per-pin-urls", []string{"--cache", "c", "--per-pin-urls", "yes"}, nil, `--per-pin-urls: "yes" is not one of auto, on, off`},
		{"bad upstream", []string{"--cache", "c", "--upstream", "cache.nixos.org"}, nil, "--upstream"},
		{"reverify-after not an age", []string{"--cache", "c", "--reverify-after", "week"}, nil, `--reverify-after: "week" is not an age from 1h to 365d`},
		{"reverify-after of days not a number", []string{"--cache", "c", "--reverify-after", "xd"}, nil, "--reverify-after"},
		{"reverify-after too short", []string{"--cache", "c", "--reverify-after", "10m"}, nil, "--reverify-after"},
		{"reverify-after too long", []string{"--cache", "c", "--reverify-after", "400d"}, nil, "--reverify-after"},
		{"zero concurrency", []string{"--cache", "c", "--concurrency", "0"}, nil, "--concurrency"},
		{"huge concurrency", nil, map[string]string{"INPUT_CACHE": "c", "INPUT_CONCURRENCY": "100000"}, "--concurrency"},
		{"pins file and no substituter", []string{"--pins-file", "pins.json"}, nil, "--substituter: required with --pins-file and no --cache"},
		{"public key without a name", []string{"--cache", "c", "--public-keys", "6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY="}, nil, "--public-keys: public key"},
		{"public key not base64", []string{"--cache", "c", "--public-keys", "c-1:notbase64!!"}, nil, "not the base64 of a 32-byte ed25519 public key"},
		{"public key too short", []string{"--cache", "c", "--public-keys", "c-1:AAAA"}, nil, "not the base64 of a 32-byte ed25519 public key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.args, env(tt.env), io.Discard)
			if !errors.Is(err, ErrUsage) {
				t.Fatalf("Load = %v, want a usage error", err)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q does not mention %q", err, tt.mention)
			}
		})
	}
}

func TestActionsEnvironment(t *testing.T) {
	got, err := Load(nil, env(map[string]string{
		"INPUT_CACHE": "c", "INPUT_MODE": "branch", "INPUT_GITHUB-TOKEN": "ghs_x",
		"GITHUB_REPOSITORY": "Owner/repo", "GITHUB_API_URL": "https://ghe.example.com/api/v3",
		"RUNNER_TEMP": "/github/runner_temp", "INPUT_COMMIT-AUTHOR": "Pin Bot <pins@example.com>",
		"INPUT_FORCE-BRANCH": "true",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := withDefaults(Config{Cache: "c", Mode: ModeBranch, GitHubToken: "ghs_x", Repo: "Owner/repo",
		GitHubAPIURL: "https://ghe.example.com/api/v3", CachixURL: "https://app.cachix.org", OnInvalid: pins.Fail, Out: "_site",
		ForceBranch: true})
	want.AuthorName, want.AuthorEmail = "Pin Bot", "pins@example.com"
	want.GitHubAPIURL = "https://ghe.example.com/api/v3"
	if diff := cmp.Diff(&want, got); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
}

func TestHelp(t *testing.T) {
	var out strings.Builder
	_, err := Load([]string{"--help"}, env(nil), &out)
	if !errors.Is(err, ErrHelp) {
		t.Fatalf("Load(--help) = %v", err)
	}
	for _, o := range Options() {
		if !strings.Contains(out.String(), "-"+o.Name) {
			t.Errorf("--help does not list --%s", o.Name)
		}
	}
}

func TestSecretsNeverInErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--auth-token", "s3cr3t-token", "--mode", "nope", "--cache", "c"},
		{"--cache", "c", "--cachix-url", "https://user:s3cr3t-token@app.cachix.org"},
		{"--cache", "c", "--mode", "branch", "--repo", "o/r", "--github-token", "x", "--github-api-url", "https://x:s3cr3t-token@ghe.example.com/api/v3"},
	} {
		_, err := Load(args, env(nil), io.Discard)
		if err == nil || strings.Contains(err.Error(), "s3cr3t-token") {
			t.Errorf("Load(%q) = %v: want an error without the secret", args, err)
		}
	}
}

func TestControlCharacters(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		mention string
	}{
		{"token with a line break", []string{"--cache", "c", "--auth-token", "abc\ndef"}, nil, "--auth-token: holds a line break"},
		{"token input with an inner line break", []string{"--cache", "c", "--mode", "branch", "--repo", "o/r"}, map[string]string{"INPUT_GITHUB-TOKEN": "ghs_a\nghs_b"}, "--github-token: holds a line break"},
		{"token with a NUL", []string{"--cache", "c", "--github-token", "a\x00b"}, nil, "--github-token"},
		{"out with a line break", []string{"--cache", "c", "--out", "x\ny"}, nil, "--out"},
		{"artifact with a tab", []string{"--cache", "c", "--artifact", "a\tb"}, nil, "--artifact"},
		{"pins file with a carriage return", []string{"--pins-file", "p\r.json"}, nil, "--pins-file"},
		{"author with a carriage return", []string{"--cache", "c", "--commit-author", "A\r <a@b.c>"}, nil, "--commit-author"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.args, env(tt.env), io.Discard)
			if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tt.mention) {
				t.Fatalf("Load = %v, want a usage error naming %q", err, tt.mention)
			}
			if strings.Contains(err.Error(), "def") || strings.Contains(err.Error(), "ghs_b") {
				t.Errorf("error %q shows the token", err)
			}
		})
	}
	// Surrounding white space in an input (a secret stored with its newline) is
	// not part of the token.
	got, err := Load([]string{"--cache", "c"}, env(map[string]string{"INPUT_AUTH-TOKEN": "tok\n"}), io.Discard)
	if err != nil || got.AuthToken != "tok" {
		t.Errorf("Load = %+v, %v; want the token without its newline", got, err)
	}
}

// TestDangerousPaths: --out may not be a folder whose site would destroy or
// publish something else, and inputs and the artifact may not be inside it;
// all of it refused before anything is written.
func TestDangerousPaths(t *testing.T) {
	dir := t.TempDir()
	home, ws := filepath.Join(dir, "home"), filepath.Join(dir, "ws")
	site := filepath.Join(dir, "site")
	for _, d := range []string{home, ws, site} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	pinsFile := filepath.Join(site, "pins.json")
	if err := os.WriteFile(pinsFile, []byte("[]"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(site, link); err != nil {
		t.Fatal(err)
	}
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	environ := map[string]string{"HOME": home, "GITHUB_WORKSPACE": ws}
	tests := []struct {
		name    string
		args    []string
		mention string
	}{
		{"root", []string{"--cache", "c", "--out", "/"}, "filesystem root"},
		{"root by another name", []string{"--cache", "c", "--out", "/tmp/.."}, "filesystem root"},
		{"home", []string{"--cache", "c", "--out", home}, "home folder"},
		{"above home", []string{"--cache", "c", "--out", dir}, "--out"},
		{"workspace", []string{"--cache", "c", "--out", ws + "/"}, "workspace"},
		{"current folder", []string{"--cache", "c", "--out", "."}, "current folder"},
		{"above the current folder", []string{"--cache", "c", "--out", filepath.Dir(cwd)}, "current folder"},
		{"input inside out", []string{"--pins-file", pinsFile, "--substituter", "https://c.cachix.org", "--out", site}, "--pins-file"},
		{"input inside out through a link", []string{"--pins-file", filepath.Join(link, "pins.json"), "--substituter", "https://c.cachix.org", "--out", site}, "--pins-file"},
		{"cache info inside out", []string{"--cache", "c", "--cache-info-file", pinsFile, "--out", link}, "--cache-info-file"},
		{"netrc file inside out, which would publish its passwords", []string{"--cache", "c", "--netrc-file", pinsFile, "--out", site}, "--netrc-file"},
		{"out is a file", []string{"--cache", "c", "--out", pinsFile}, `--out: "` + pinsFile + `" is a file; give the folder`},
		{"out below a file", []string{"--cache", "c", "--out", filepath.Join(pinsFile, "site")}, `--out: "` + filepath.Join(pinsFile, "site") + `": a part of it is a file`},
		{"artifact inside out", []string{"--cache", "c", "--mode", "pages", "--repo", "o/r", "--out", site, "--artifact", filepath.Join(site, "a.tar")}, "--artifact"},
		{"artifact inside out through a link", []string{"--cache", "c", "--mode", "pages", "--repo", "o/r", "--out", site, "--artifact", filepath.Join(link, "new", "a.tar")}, "--artifact"},
		{"artifact is a folder", []string{"--cache", "c", "--mode", "pages", "--repo", "o/r", "--out", filepath.Join(dir, "out"), "--artifact", ws}, `--artifact: "` + ws + `" is a folder; give the path of the tar file to write, such as ` + filepath.Join(ws, "artifact.tar")},
		{"artifact below a file", []string{"--cache", "c", "--mode", "pages", "--repo", "o/r", "--out", filepath.Join(dir, "out"), "--artifact", filepath.Join(pinsFile, "a.tar")}, `--artifact: "` + filepath.Join(pinsFile, "a.tar") + `": a part of it is a file`},
		{"artifact over an input", []string{"--cache", "c", "--mode", "pages", "--repo", "o/r", "--out", filepath.Join(dir, "out"), "--cache-info-file", pinsFile, "--artifact", pinsFile}, "--artifact"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.args, env(environ), io.Discard)
			if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tt.mention) {
				t.Fatalf("Load = %v, want a usage error naming %q", err, tt.mention)
			}
		})
	}
	if _, err := Load([]string{"--cache", "c", "--out", filepath.Join(ws, "_site"), "--mode", "pages", "--repo", "o/r"}, env(environ), io.Discard); err != nil {
		t.Errorf("a site inside the workspace: %v", err)
	}
}
