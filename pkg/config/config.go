package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/kwbauson/create-pin-refs/pkg/ghrepo"
	"github.com/kwbauson/create-pin-refs/pkg/pins"
	"github.com/kwbauson/create-pin-refs/pkg/publish/pages"
)

// Modes of publishing.
const (
	ModeDir    = "dir"
	ModePages  = "pages"
	ModeBranch = "branch"
)

// Config is everything a run needs.
type Config struct {
	Cache         string
	AuthToken     string
	CachixURL     string
	Substituter   string
	PublicKeys    []string
	PinsFile      string
	CacheInfoFile string
	Include       []string
	Exclude       []string
	OnInvalid     pins.Policy
	AllowEmpty    bool
	Out           string
	Mode          string

	PagesURL string
	Artifact string

	Repo          string // OWNER/REPO
	Branch        string
	GitHubToken   string
	GitHubAPIURL  string
	CommitMessage string
	AuthorName    string
	AuthorEmail   string
	ForceBranch   bool
}

// ErrUsage marks errors in how the program was called (exit code 2).
var ErrUsage = errors.New("usage")

// ErrHelp is returned for --help.
var ErrHelp = flag.ErrHelp

// Load fills a Config from args, then INPUT_* variables, then other variables,
// then defaults, and validates it. Usage goes to out on --help or a flag error.
func Load(args []string, getenv func(string) string, out io.Writer) (*Config, error) {
	fs := flag.NewFlagSet("create-pin-refs", flag.ContinueOnError)
	fs.SetOutput(out)
	opts := Options()
	flags := map[string]*multiFlag{}
	for _, o := range opts {
		f := &multiFlag{list: o.List}
		flags[o.Name] = f
		if o.Bool {
			fs.Var(boolFlag{f}, o.Name, o.Usage)
		} else {
			fs.Var(f, o.Name, o.Usage)
		}
	}
	fs.Usage = func() { usage(fs.Output(), opts) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, ErrHelp
		}
		return nil, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%w: unexpected argument %q (all settings are flags; see --help)", ErrUsage, fs.Arg(0))
	}

	values := map[string][]string{}
	for _, o := range opts {
		values[o.Name] = resolve(o, flags[o.Name], getenv)
	}
	one := func(name string) string {
		v := values[name]
		if len(v) == 0 {
			return ""
		}
		return v[len(v)-1]
	}
	c := &Config{
		Cache:         one("cache"),
		AuthToken:     one("auth-token"),
		CachixURL:     one("cachix-url"),
		Substituter:   one("substituter"),
		PublicKeys:    values["public-keys"],
		PinsFile:      one("pins-file"),
		CacheInfoFile: one("cache-info-file"),
		Include:       values["include"],
		Exclude:       values["exclude"],
		OnInvalid:     pins.Policy(one("on-invalid")),
		Out:           one("out"),
		Mode:          one("mode"),
		PagesURL:      one("pages-url"),
		Artifact:      one("artifact"),
		Repo:          one("repo"),
		Branch:        one("branch"),
		GitHubToken:   one("github-token"),
		GitHubAPIURL:  one("github-api-url"),
		CommitMessage: one("commit-message"),
	}
	var err error
	if c.AllowEmpty, err = parseBool("allow-empty", one("allow-empty")); err != nil {
		return nil, err
	}
	if c.ForceBranch, err = parseBool("force-branch", one("force-branch")); err != nil {
		return nil, err
	}
	if c.AuthorName, c.AuthorEmail, err = parseAuthor(one("commit-author")); err != nil {
		return nil, err
	}
	if c.Artifact == "" {
		// Beside the site rather than in RUNNER_TEMP: inside the action's
		// container RUNNER_TEMP is a path that later steps on the runner cannot
		// see, while the workspace is the same folder for both. The file is
		// named artifact.tar, the name GitHub Pages expects in the artifact.
		out := filepath.Clean(c.Out)
		c.Artifact = filepath.Join(filepath.Dir(out), filepath.Base(out)+"-artifact", "artifact.tar")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// usage prints --help: the options in their own order, each with where its
// value may come from.
func usage(w io.Writer, opts []Option) {
	fmt.Fprint(w, "Usage: create-pin-refs [flags]\n\n"+
		"Publishes a Cachix cache's pins as a Nix bundle that evaluates in milliseconds.\n"+
		"Each setting comes from its flag, else the action input INPUT_<NAME>, else the\n"+
		"environment variable named, else its default.\n\nFlags:\n")
	for _, o := range opts {
		name, text := flag.UnquoteUsage(&flag.Flag{Name: o.Name, Usage: o.Usage, Value: &multiFlag{}})
		if o.Bool || name == "" {
			fmt.Fprintf(w, "  --%s\n    \t%s", o.Name, text)
		} else {
			fmt.Fprintf(w, "  --%s %s\n    \t%s", o.Name, name, text)
		}
		if o.List {
			fmt.Fprint(w, "; repeatable, comma or newline separated")
		}
		if o.Env != "" {
			fmt.Fprintf(w, " (env %s)", o.Env)
		}
		if o.Default != "" {
			fmt.Fprintf(w, " (default %s)", o.Default)
		}
		fmt.Fprintln(w)
	}
}

// resolve applies the precedence flag > input > environment > default.
func resolve(o Option, f *multiFlag, getenv func(string) string) []string {
	if f.set {
		return f.values
	}
	for _, key := range []string{InputEnv(o.Name), o.Env} {
		if key == "" {
			continue
		}
		if v := strings.TrimSpace(getenv(key)); v != "" {
			return split(v, o.List)
		}
	}
	if o.Default != "" {
		return []string{o.Default}
	}
	return nil
}

// InputEnv is the variable GitHub Actions sets for an input: upper-cased, spaces
// turned into underscores, hyphens kept.
func InputEnv(name string) string {
	return "INPUT_" + strings.ToUpper(strings.ReplaceAll(name, " ", "_"))
}

func split(v string, list bool) []string {
	if !list {
		return []string{v}
	}
	var out []string
	for _, part := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '\n' }) {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parseBool(name, v string) (bool, error) {
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%w: --%s: %q is not true or false", ErrUsage, name, v)
	}
	return b, nil
}

// Validate checks the configuration once, naming the option at fault.
func (c *Config) Validate() error {
	bad := func(opt, format string, args ...any) error {
		return fmt.Errorf("%w: --%s: %s", ErrUsage, opt, fmt.Sprintf(format, args...))
	}
	switch c.Mode {
	case ModeDir, ModePages, ModeBranch:
	default:
		return bad("mode", "%q is not one of dir, pages, branch", c.Mode)
	}
	if c.Cache == "" && c.PinsFile == "" {
		return bad("cache", "required (the Cachix cache name), unless --pins-file is given")
	}
	if c.Cache != "" && !cachePattern.MatchString(c.Cache) {
		return bad("cache", "%q is not a Cachix cache name (lower-case letters, digits and hyphens: the NAME of NAME.cachix.org)", c.Cache)
	}
	if c.PinsFile == "" {
		if err := checkURL(c.CachixURL); err != nil {
			return bad("cachix-url", "%v", err)
		}
	}
	if c.Substituter != "" {
		if err := checkURL(c.Substituter); err != nil {
			return bad("substituter", "%v", err)
		}
	}
	switch c.OnInvalid {
	case pins.Fail, pins.Skip:
	default:
		return bad("on-invalid", "%q is not fail or skip", c.OnInvalid)
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
	if c.PagesURL != "" {
		if err := checkURL(c.PagesURL); err != nil {
			return bad("pages-url", "%v", err)
		}
	}
	if c.Repo != "" {
		if _, _, err := ghrepo.Split(c.Repo); err != nil {
			return bad("repo", "%v", err)
		}
	}
	if c.Mode == ModePages {
		// PagesURL names the option at fault itself.
		if _, err := pages.PagesURL(c.Repo, c.PagesURL); err != nil {
			return fmt.Errorf("%w: %w", ErrUsage, err)
		}
	}
	if c.Mode == ModeBranch {
		switch {
		case c.Repo == "":
			return bad("repo", "required in branch mode (OWNER/REPO; GITHUB_REPOSITORY inside Actions)")
		case c.GitHubToken == "":
			return bad("github-token", "required in branch mode (a token with contents: write; inside Actions pass ${{ github.token }})")
		}
		if err := ghrepo.CheckBranch(c.Branch); err != nil {
			return bad("branch", "%v", err)
		}
		if err := checkURL(c.GitHubAPIURL); err != nil {
			return bad("github-api-url", "%v", err)
		}
	}
	return nil
}

var (
	// Cachix cache names are lower-case letters, digits and hyphens.
	cachePattern  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,99}$`)
	authorPattern = regexp.MustCompile(`^\s*([^<>\n]*[^<>\s])\s*<([^<>\s]+@[^<>\s]+)>\s*$`)
)

// parseAuthor splits "Name <email>".
func parseAuthor(s string) (name, email string, err error) {
	m := authorPattern.FindStringSubmatch(s)
	if m == nil {
		return "", "", fmt.Errorf("%w: --commit-author: %q is not \"Name <email>\"", ErrUsage, s)
	}
	return m[1], m[2], nil
}

// checkURL accepts http(s) URLs without credentials: a URL is printed and
// published, so a password in it would leak (tokens have options of their own).
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", u.Redacted())
	}
	if u.User != nil {
		return fmt.Errorf("%q holds credentials, which would be printed and published; pass tokens with --auth-token or --github-token", u.Redacted())
	}
	return nil
}

// multiFlag collects a flag's values; for list options each value is split.
type multiFlag struct {
	list   bool
	set    bool
	values []string
}

func (f *multiFlag) String() string {
	if f == nil {
		return ""
	}
	return strings.Join(f.values, ",")
}

func (f *multiFlag) Set(v string) error {
	f.set = true
	if f.list {
		f.values = append(f.values, split(v, true)...)
	} else {
		f.values = []string{v}
	}
	return nil
}

type boolFlag struct{ *multiFlag }

func (boolFlag) IsBoolFlag() bool { return true }
