// Package config holds the one configuration of a run, filled from command-line
// flags, GitHub Actions inputs (INPUT_*) and the environment, in that order of
// precedence, and validated once.
package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Option describes one setting. Its Name is both the flag (--NAME) and the action
// input (INPUT_NAME, upper-cased with hyphens kept).
type Option struct {
	Name    string
	Usage   string
	Env     string // environment variable consulted after flag and input
	Default string
	Bool    bool
	List    bool // repeatable; each value may hold several, comma or newline separated
	Secret  bool
	// set stores the resolved values (none when unset) in the field of the
	// Config the table was made for: each row holds its field, so no string
	// key can name a missing one.
	set func(values []string) error
}

// Options lists every setting, in the order of --help. The action.yml test checks
// that each is an input of the action and each input is one of these.
func Options() []Option { return options(&Config{}) }

// options is the table with each row bound to its field of c.
func options(c *Config) []Option {
	return []Option{
		{Name: "cache", Usage: "Cachix cache `name` whose pins are published (required unless --pins-file or --pins-from is given)", set: text(&c.Cache)},
		{Name: "auth-token", Usage: "Cachix auth `token`, needed for a private cache", Env: "CACHIX_AUTH_TOKEN", Secret: true, set: text(&c.AuthToken)},
		{Name: "cachix-url", Usage: "Cachix API base `URL`", Default: DefaultCachixURL, set: text(&c.CachixURL)},
		{Name: "substituter", Usage: "binary cache `URL` the bundle substitutes from (default: the cache's uri, else https://CACHE.cachix.org; required with --pins-file and neither --cache nor --cache-info-file)", set: text(&c.Substituter)},
		{Name: "netrc-file", Usage: "netrc `file` read as Nix's netrc-file: each machine HOST login L password P entry is sent as HTTP basic auth to the binary caches on HOST and nowhere else (the default entry is not used); for a private cache behind a --substituter that is not at its own uri's origin, which gets no --auth-token", set: text(&c.NetrcFile)},
		{Name: "public-keys", Usage: "trusted public `keys` of the binary cache, NAME:BASE64KEY as in trusted-public-keys (default: the cache's signing keys)", List: true, set: list(&c.PublicKeys)},
		{Name: "pins-file", Usage: "read pins from this JSON `file` (the Cachix API's format) instead of the API; with --cache, the cache's information still comes from the API unless --cache-info-file, or --substituter and --public-keys, are given", set: text(&c.PinsFile)},
		{Name: "pins-from", Usage: "read pins from an S3 binary cache, `s3://BUCKET[/PREFIX]`, in niks3's layout (objects PREFIX/pins/NAME holding the store path; create-pin-refs pin --store writes them), instead of Cachix, its narinfo files verified through the S3 API; needs --substituter (the cache's HTTP(S) URL for consumers) and --public-keys; --s3-endpoint and the AWS settings as for --mode s3", set: text(&c.PinsFrom)},
		{Name: "cache-info-file", Usage: "read the cache's information from this JSON `file` instead of the API", set: text(&c.CacheInfoFile)},
		{Name: "include", Usage: "publish only pins matching these `globs` (full pin name or name without system)", List: true, set: list(&c.Include)},
		{Name: "exclude", Usage: "leave out pins matching these `globs`", List: true, set: list(&c.Exclude)},
		{Name: "on-invalid", Usage: "what to do with an invalid pin: fail or skip", Default: "fail", set: text(&c.OnInvalid)},
		{Name: "verify", Usage: "what to do with a pin whose path or closure no binary cache holds: fail, warn, skip-missing (leave it out with a warning) or off (read no narinfo)", Default: "fail", set: text(&c.Verify)},
		{Name: "upstream", Usage: "binary cache `URLs` asked for the paths the cache lacks (Cachix leaves out what cache.nixos.org holds); none for no upstream", List: true, Default: "https://cache.nixos.org", set: upstreams(&c.Upstream)},
		{Name: "concurrency", Usage: "narinfo requests in flight at once; over HTTP/2 they share one connection per cache, as Nix's do (lower it for a small server that speaks HTTP/1.1 only, where each takes a connection)", Default: "100", set: count(&c.Concurrency, 1, 256)},
		{Name: "reverify", Usage: "walk every closure, reusing none of the verdicts that the previous publish's pins.json records; in s3 mode, also list the prefix and write again the objects deleted or changed by hand", Bool: true, Default: "false", set: boolean(&c.Reverify)},
		{Name: "reverify-after", Usage: "age, e.g. 7d or 36h, past which a verdict of an earlier publish is not reused and its closure is walked again", Default: "7d", set: age(&c.ReverifyAfter, time.Hour, 365*24*time.Hour)},
		{Name: "allow-empty", Usage: "publish even when no pin is left", Bool: true, Default: "false", set: boolean(&c.AllowEmpty)},
		{Name: "out", Usage: "`folder` the site is written to; not /, the home folder, the workspace, the current folder or a folder holding an input file", Default: "_site", set: text(&c.Out)},
		{Name: "mode", Usage: "dir (write the site only), pages (site and Pages artifact), branch (commit the bundle to a branch) or s3 (the site to a bucket)", Default: "dir", set: text(&c.Mode)},
		{Name: "pages-url", Usage: "base `URL` of the Pages site (default https://OWNER.github.io/REPO/)", set: text(&c.PagesURL)},
		{Name: "keep-bundles", Usage: "number of publishes whose immutable bundles (URL/b/NAME.tar.gz, which flake locks record) the site serves, this one included; pages mode reads the earlier ones from the live site", Default: "10", set: number(&c.KeepBundles, 1, maxKeepBundles)},
		{Name: "per-pin-urls", Usage: "one tiny bundle per name, URL/p/NAME (pages) or ?dir=p/NAME (branch), whose evaluation costs the same at any pin count: on, off, or auto (built when the Pages artifact stays within 64 MiB, or the branch within 5,000 names; otherwise a notice says what they would add)", Default: "auto", set: text(&c.PerPinURLs)},
		{Name: "artifact", Usage: "`path` of the Pages artifact tar in pages mode (default OUT-artifact/artifact.tar beside the site)", set: text(&c.Artifact)},
		{Name: "repo", Usage: "GitHub repository `OWNER/REPO` to publish to", Env: "GITHUB_REPOSITORY", set: text(&c.Repo)},
		{Name: "branch", Usage: "`branch` that holds the bundle in branch mode", Default: "pins", set: text(&c.Branch)},
		{Name: "github-token", Usage: "GitHub `token` with contents: write, for branch mode", Env: "GITHUB_TOKEN", Secret: true, set: text(&c.GitHubToken)},
		{Name: "github-api-url", Usage: "GitHub API `URL` (GitHub Enterprise: https://HOST/api/v3)", Env: "GITHUB_API_URL", Default: "https://api.github.com", set: text(&c.GitHubAPIURL)},
		{Name: "commit-message", Usage: "commit `message` in branch mode (default: a summary of the pins)", set: text(&c.CommitMessage)},
		{Name: "commit-author", Usage: "commit author and committer as `Name <email>` (default: none named, so the commit is the token's, github-actions[bot] for GITHUB_TOKEN, and GitHub signs it: Verified)", set: author(&c.AuthorName, &c.AuthorEmail)},
		{Name: "force-branch", Usage: "commit onto an existing branch that create-pin-refs did not create, replacing its files (history is kept; never the default branch)", Bool: true, Default: "false", set: boolean(&c.ForceBranch)},
		{Name: "s3-url", Usage: "`s3://BUCKET[/PREFIX]` the site is published to in s3 mode; credentials and region come from the AWS SDK's usual settings (AWS_* variables, shared config, web identity as aws-actions/configure-aws-credentials sets it)", set: text(&c.S3URL)},
		{Name: "s3-endpoint", Usage: "S3 endpoint `URL` for a service other than AWS (R2, B2, MinIO…), addressed path-style", set: text(&c.S3Endpoint)},
		{Name: "site-url", Usage: "public base `URL` that serves the s3 mode site (the bucket's website or CDN address), for the commands shown and the immutable links", set: text(&c.SiteURL)},
		{Name: "force-prefix", Usage: "publish to an S3 prefix that holds objects but no create-pin-refs marker, replacing the site's names there (objects of other names are left alone)", Bool: true, Default: "false", set: boolean(&c.ForcePrefix)},
		{Name: "pin", Usage: "before publishing, pin each `NAME=PATH` in the cache (needs --auth-token with write access): PATH is a store path already pushed, or a link to one such as result; {system} in NAME is the system this runs on; one per line", List: true, set: pinSpecs(&c.Pins)},
		{Name: "pin-keep", Usage: "how long Cachix keeps the revisions of the pins made by --pin: `revisions:N`, days:N or forever (default: Cachix's)", set: keepPolicy(&c.PinKeep)},
		{Name: "timeout", Usage: "deadline of the whole run, e.g. 10m or 90s: a server that hangs or keeps failing fails the run then, not later", Default: "10m", set: duration(&c.Timeout, time.Second, 6*time.Hour)},
	}
}

// text sets a single-valued field to the last value given.
func text[T ~string](field *T) func([]string) error {
	return func(v []string) error {
		if len(v) > 0 {
			*field = T(v[len(v)-1])
		}
		return nil
	}
}

// list sets a repeatable field to every value given.
func list(field *[]string) func([]string) error {
	return func(v []string) error {
		*field = v
		return nil
	}
}

// upstreams sets the upstream caches; "none" alone means none.
func upstreams(field *[]string) func([]string) error {
	return func(v []string) error {
		if len(v) == 1 && v[0] == "none" {
			v = []string{}
		}
		*field = v
		return nil
	}
}

// count sets a number from lo to hi.
func count(field *int, lo, hi int) func([]string) error {
	return func(v []string) error {
		var s string
		_ = text(&s)(v)
		n, err := strconv.Atoi(s)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("%q is not a number from %d to %d", s, lo, hi)
		}
		*field = n
		return nil
	}
}

// boolean sets a switch; unset is false.
func boolean(field *bool) func([]string) error {
	return func(v []string) error {
		var s string
		if err := text(&s)(v); err != nil || s == "" {
			return err
		}
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%q is not true or false", s)
		}
		*field = b
		return nil
	}
}

// number sets an integer field to the last value given, from lo to hi.
func number(field *int, lo, hi int) func([]string) error {
	return func(v []string) error {
		var s string
		if err := text(&s)(v); err != nil || s == "" {
			return err
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("%q is not a number from %d to %d", s, lo, hi)
		}
		*field = n
		return nil
	}
}

// duration sets a duration field to the last value given, from lo to hi.
func duration(field *time.Duration, lo, hi time.Duration) func([]string) error {
	return func(v []string) error {
		var s string
		if err := text(&s)(v); err != nil || s == "" {
			return err
		}
		d, err := time.ParseDuration(s)
		if err != nil || d < lo || d > hi {
			return fmt.Errorf("%q is not a duration from %s to %s (such as 10m or 90s)", s, lo, hi)
		}
		*field = d
		return nil
	}
}

// age sets a duration field, also given in whole days (7d), from lo to hi.
func age(field *time.Duration, lo, hi time.Duration) func([]string) error {
	return func(v []string) error {
		var s string
		if err := text(&s)(v); err != nil || s == "" {
			return err
		}
		d, err := time.ParseDuration(s)
		if days, ok := strings.CutSuffix(s, "d"); ok {
			var n int
			n, err = strconv.Atoi(days)
			d = time.Duration(n) * 24 * time.Hour
		}
		if err != nil || d < lo || d > hi {
			return fmt.Errorf("%q is not an age from %s to %dd (such as 7d or 36h)", s, strings.TrimSuffix(lo.String(), "0m0s"), hi/(24*time.Hour))
		}
		*field = d
		return nil
	}
}

// maxKeepBundles bounds --keep-bundles: every kept bundle is downloaded again
// on each publish.
const maxKeepBundles = 1000

// author splits "Name <email>" into two fields.
func author(name, email *string) func([]string) error {
	return func(v []string) error {
		var s string
		_ = text(&s)(v)
		if strings.TrimSpace(s) == "" {
			*name, *email = "", "" // none named: the token's
			return nil
		}
		m := authorPattern.FindStringSubmatch(s)
		if m == nil || hasControl(s) {
			return fmt.Errorf("%q is not \"Name <email>\"", s)
		}
		*name, *email = m[1], m[2]
		return nil
	}
}
