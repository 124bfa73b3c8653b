// Package config holds the one configuration of a run, filled from command-line
// flags, GitHub Actions inputs (INPUT_*) and the environment, in that order of
// precedence, and validated once.
package config

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
}

// Options lists every setting, in the order of --help. The action.yml test checks
// that each is an input of the action and each input is one of these.
func Options() []Option {
	return []Option{
		{Name: "cache", Usage: "Cachix cache `name` whose pins are published (required unless --pins-file is given)"},
		{Name: "auth-token", Usage: "Cachix auth `token`, needed for a private cache", Env: "CACHIX_AUTH_TOKEN", Secret: true},
		{Name: "cachix-url", Usage: "Cachix API base `URL`", Default: "https://app.cachix.org"},
		{Name: "substituter", Usage: "binary cache `URL` the bundle substitutes from (default: the cache's uri, else https://CACHE.cachix.org)"},
		{Name: "public-keys", Usage: "trusted public `keys` of the binary cache (default: the cache's signing keys)", List: true},
		{Name: "pins-file", Usage: "read pins from this JSON `file` (the Cachix API's format) instead of the API; with --cache, the cache's information still comes from the API unless --cache-info-file, or --substituter and --public-keys, are given"},
		{Name: "cache-info-file", Usage: "read the cache's information from this JSON `file` instead of the API"},
		{Name: "include", Usage: "publish only pins matching these `globs` (full pin name or name without system)", List: true},
		{Name: "exclude", Usage: "leave out pins matching these `globs`", List: true},
		{Name: "on-invalid", Usage: "what to do with an invalid pin: fail or skip", Default: "fail"},
		{Name: "allow-empty", Usage: "publish even when no pin is left", Bool: true, Default: "false"},
		{Name: "out", Usage: "`folder` the site is written to", Default: "_site"},
		{Name: "mode", Usage: "dir (write the site only), pages (site and Pages artifact) or branch (commit the bundle to a branch)", Default: "dir"},
		{Name: "pages-url", Usage: "base `URL` of the Pages site (default https://OWNER.github.io/REPO/)"},
		{Name: "artifact", Usage: "`path` of the Pages artifact tar in pages mode (default OUT-artifact/artifact.tar beside the site)"},
		{Name: "repo", Usage: "GitHub repository `OWNER/REPO` to publish to", Env: "GITHUB_REPOSITORY"},
		{Name: "branch", Usage: "`branch` that holds the bundle in branch mode", Default: "pins"},
		{Name: "github-token", Usage: "GitHub `token` with contents: write, for branch mode", Env: "GITHUB_TOKEN", Secret: true},
		{Name: "github-api-url", Usage: "GitHub API `URL` (GitHub Enterprise: https://HOST/api/v3)", Env: "GITHUB_API_URL", Default: "https://api.github.com"},
		{Name: "commit-message", Usage: "commit `message` in branch mode (default: a summary of the pins)"},
		{Name: "commit-author", Usage: "commit author as `Name <email>`", Default: "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>"},
		{Name: "force-branch", Usage: "commit onto an existing branch that create-pin-refs did not create, replacing its files (history is kept; never the default branch)", Bool: true, Default: "false"},
	}
}
