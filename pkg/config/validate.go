package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"unicode"

	"github.com/kwbauson/create-pin-refs/pkg/bundle"
	"github.com/kwbauson/create-pin-refs/pkg/ghrepo"
	"github.com/kwbauson/create-pin-refs/pkg/httpauth"
	"github.com/kwbauson/create-pin-refs/pkg/paths"
	"github.com/kwbauson/create-pin-refs/pkg/pins"
	"github.com/kwbauson/create-pin-refs/pkg/s3bucket"
	"github.com/kwbauson/create-pin-refs/pkg/verify"
	"github.com/kwbauson/create-pin-refs/pkg/weburl"
)

var (
	// Cachix cache names are lower-case letters, digits and hyphens.
	cachePattern  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,99}$`)
	authorPattern = regexp.MustCompile(`^\s*([^<>\n]*[^<>\s])\s*<([^<>\s]+@[^<>\s]+)>\s*$`)
)

func bad(opt, format string, args ...any) error {
	return fmt.Errorf("%w: --%s: %s", ErrUsage, opt, fmt.Sprintf(format, args...))
}

// Validate checks the configuration once, naming the option at fault.
func (c *Config) Validate() error {
	switch c.Mode {
	case ModeDir, ModePages, ModeBranch, ModeS3:
	default:
		return bad("mode", "%q is not one of dir, pages, branch, s3", c.Mode)
	}
	switch {
	case c.PinsFile != "" && c.PinsFrom != "":
		return bad("pins-from", "cannot be used with --pins-file: give one source of pins")
	case c.PinsFrom != "" && (c.Cache != "" || c.CacheInfoFile != ""):
		return bad("pins-from", "cannot be used with --cache or --cache-info-file, which name a Cachix cache: the pins, their binary cache and its keys come from the S3 cache (--substituter, --public-keys)")
	case c.PinsFrom != "" && c.Substituter == "":
		return bad("substituter", "required with --pins-from: the S3 cache's HTTP(S) URL that Nix substitutes the pins from (such as https://BUCKET.s3.REGION.amazonaws.com)")
	case c.PinsFrom != "" && len(c.PublicKeys) == 0:
		return bad("public-keys", "required with --pins-from: the key the cache's narinfo files are signed with, NAME:BASE64KEY as in trusted-public-keys")
	case c.Cache == "" && c.FromCachix():
		return bad("cache", "required (the Cachix cache name), unless --pins-file or --pins-from is given")
	case c.Cache == "" && c.Substituter == "" && c.CacheInfoFile == "":
		return bad("substituter", "required with --pins-file and no --cache: the binary cache URL Nix substitutes the pins from (such as https://NAME.cachix.org), or --cache-info-file, or --cache")
	}
	if c.PinsFrom != "" {
		if _, err := s3bucket.ParseLocation(c.PinsFrom); err != nil {
			return bad("pins-from", "%v", err)
		}
	}
	for _, k := range c.PublicKeys {
		if err := bundle.CheckPublicKey(k); err != nil {
			return bad("public-keys", "%v", err)
		}
	}
	if c.Cache != "" && !cachePattern.MatchString(c.Cache) {
		return bad("cache", "%q is not a Cachix cache name (lower-case letters, digits and hyphens: the NAME of NAME.cachix.org)", c.Cache)
	}
	for _, s := range []setting{{"auth-token", c.AuthToken}, {"github-token", c.GitHubToken}} {
		// Never shown: the value is a secret. A line break would only be
		// retried against the API, and could end a header or a log line.
		if hasControl(s.value) {
			return bad(s.opt, "holds a line break or another control character; a token is one line (check how the secret was stored)")
		}
	}
	for _, s := range []setting{{"out", c.Out}, {"artifact", c.Artifact}, {"pins-file", c.PinsFile}, {"cache-info-file", c.CacheInfoFile}, {"netrc-file", c.NetrcFile}} {
		if hasControl(s.value) {
			return bad(s.opt, "%q holds a control character, which no log line or step output shows faithfully; choose another path", s.value)
		}
	}
	for _, s := range []setting{{"cachix-url", c.CachixURL}, {"substituter", c.Substituter}, {"pages-url", c.PagesURL}, {"github-api-url", c.GitHubAPIURL}, {"s3-endpoint", c.S3Endpoint}, {"site-url", c.SiteURL}} {
		if _, err := weburl.Parse(s.value); s.value != "" && err != nil {
			return bad(s.opt, "%v", err)
		}
	}
	// A token travels over https only, or plain http to this machine.
	for _, s := range []struct {
		setting
		token string
		used  bool
	}{{setting{"cachix-url", c.CachixURL}, c.AuthToken, c.FromCachix()}, {setting{"github-api-url", c.GitHubAPIURL}, c.GitHubToken, c.Mode == ModeBranch}} {
		if err := httpauth.Check(s.value, s.token); s.used && s.value != "" && err != nil {
			return bad(s.opt, "%v", err)
		}
	}
	switch c.OnInvalid {
	case pins.Fail, pins.Skip:
	default:
		return bad("on-invalid", "%q is not fail or skip", c.OnInvalid)
	}
	switch c.Verify {
	case verify.Fail, verify.Warn, verify.SkipMissing, verify.Off:
	default:
		return bad("verify", "%q is not one of fail, warn, skip-missing, off", c.Verify)
	}
	switch c.PerPinURLs {
	case PerPinAuto, PerPinOn, PerPinOff:
	default:
		return bad("per-pin-urls", "%q is not one of auto, on, off", c.PerPinURLs)
	}
	for _, u := range c.Upstream {
		if _, err := weburl.Parse(u); err != nil {
			return bad("upstream", "%v (none: no upstream cache)", err)
		}
	}
	if err := pins.ValidatePatterns(c.Include); err != nil {
		return bad("include", "%v", err)
	}
	if err := pins.ValidatePatterns(c.Exclude); err != nil {
		return bad("exclude", "%v", err)
	}
	if c.Out == "" {
		return bad("out", "empty")
	}
	if c.Repo != "" {
		if _, _, err := ghrepo.Split(c.Repo); err != nil {
			return bad("repo", "%v", err)
		}
	}
	switch {
	case c.Mode == ModePages && c.Repo == "" && c.PagesURL == "":
		return bad("repo", "empty: pages mode needs the repository whose Pages site serves the pins, such as octo/pins (GITHUB_REPOSITORY inside Actions), or --pages-url with the site's URL")
	case c.Mode == ModeBranch && c.Repo == "":
		return bad("repo", "required in branch mode (OWNER/REPO; GITHUB_REPOSITORY inside Actions)")
	case c.Mode == ModeBranch && c.GitHubToken == "":
		return bad("github-token", "required in branch mode (a token with contents: write; inside Actions pass ${{ github.token }})")
	case c.Mode != ModeBranch && c.AuthorName != "":
		return bad("commit-author", "only in branch mode, which makes a commit; --mode %s makes none", c.Mode)
	}
	if err := c.validateS3(); err != nil {
		return err
	}
	if c.Mode == ModeBranch {
		if err := ghrepo.CheckBranch(c.Branch); err != nil {
			return bad("branch", "%v", err)
		}
	}
	return c.validatePins()
}

// setting is an option's name and value, for checks run in order.
type setting struct{ opt, value string }

func hasControl(s string) bool { return strings.ContainsFunc(s, unicode.IsControl) }

// checkPaths refuses an --out whose site would replace or publish what it must
// not: the filesystem root, the home folder, the workspace or the current
// folder (or a folder above them), a folder holding an input file; and an
// artifact that the site would hold or that overwrites an input. All of it is
// decided before anything is written.
func (c *Config) checkPaths(getenv func(string) string) error {
	if fi, err := os.Stat(c.Out); err == nil && !fi.IsDir() {
		return bad("out", "%q is a file; give the folder to write the site to, one of its own such as _site", c.Out)
	}
	out, err := paths.Real(c.Out)
	if errors.Is(err, syscall.ENOTDIR) {
		return bad("out", "%q: a part of it is a file, not a folder; choose a path whose folders are folders or do not exist yet", c.Out)
	}
	if err != nil {
		return bad("out", "%v", err)
	}
	if filepath.Dir(out) == out {
		return bad("out", "%q is the filesystem root; choose a folder of its own, such as _site", c.Out)
	}
	cwd, _ := os.Getwd()
	for _, s := range []setting{
		{"the home folder", getenv("HOME")},
		{"the workspace (GITHUB_WORKSPACE)", getenv("GITHUB_WORKSPACE")},
		{"the current folder", cwd},
	} {
		if real, err := paths.Real(s.value); s.value != "" && err == nil && paths.Within(out, real) {
			return bad("out", "%q is %s or a folder above it, which the site would fill and Pages mode would publish whole; choose a folder of its own, such as _site", c.Out, s.opt)
		}
	}
	inputs := []setting{{"pins-file", c.PinsFile}, {"cache-info-file", c.CacheInfoFile}, {"netrc-file", c.NetrcFile}}
	for _, s := range inputs {
		if real, err := paths.Real(s.value); s.value != "" && err == nil && paths.Within(out, real) {
			return bad(s.opt, "%q is inside --out %q, which the site replaces and publishes; keep inputs outside the site", s.value, c.Out)
		}
	}
	if c.Mode != ModePages {
		return nil
	}
	// The artifact goes in place after the site (pkg/cli): a path it cannot
	// take fails here, before anything is written.
	if fi, err := os.Stat(c.Artifact); err == nil && fi.IsDir() {
		return bad("artifact", "%q is a folder; give the path of the tar file to write, such as %s", c.Artifact, filepath.Join(c.Artifact, "artifact.tar"))
	}
	artifact, err := paths.Real(c.Artifact)
	if errors.Is(err, syscall.ENOTDIR) {
		return bad("artifact", "%q: a part of it is a file, not a folder; choose a path whose folders are folders or do not exist yet", c.Artifact)
	}
	if err != nil {
		return bad("artifact", "%q: %v", c.Artifact, err)
	}
	if paths.Within(out, artifact) {
		return bad("artifact", "%q is inside --out %q, so it would pack itself; write it elsewhere (such as %s-artifact/artifact.tar beside the site, the default)", c.Artifact, c.Out, filepath.Base(out))
	}
	for _, s := range inputs {
		if real, err := paths.Real(s.value); s.value != "" && err == nil && real == artifact {
			return bad("artifact", "%q is the --%s, which the artifact would overwrite", c.Artifact, s.opt)
		}
	}
	return nil
}

// validateS3 checks the settings of s3 mode, and that no other mode is
// given them.
func (c *Config) validateS3() error {
	if c.S3Endpoint != "" && c.Mode != ModeS3 && c.PinsFrom == "" {
		return bad("s3-endpoint", "only for --mode s3 or --pins-from (the mode is %s)", c.Mode)
	}
	if c.S3Endpoint != "" {
		if err := s3bucket.CheckEndpoint(c.S3Endpoint); err != nil {
			return bad("s3-endpoint", "%v", err)
		}
	}
	if c.Mode != ModeS3 {
		for _, s := range []setting{{"s3-url", c.S3URL}, {"site-url", c.SiteURL}} {
			if s.value != "" {
				return bad(s.opt, "only for --mode s3 (the mode is %s)", c.Mode)
			}
		}
		return nil
	}
	switch {
	case c.S3URL == "":
		return bad("s3-url", "required in s3 mode: s3://BUCKET or s3://BUCKET/PREFIX")
	case c.SiteURL == "":
		return bad("site-url", "required in s3 mode: the public URL that serves the prefix, such as https://BUCKET.s3.REGION.amazonaws.com/PREFIX/, the bucket's website or its CDN address")
	}
	if _, err := s3bucket.ParseLocation(c.S3URL); err != nil {
		return bad("s3-url", "%v", err)
	}
	return nil
}
