package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/kwbauson/create-pin-refs/pkg/pins"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
	"github.com/kwbauson/create-pin-refs/pkg/verify"
)

// Modes of publishing.
const (
	ModeDir    = "dir"
	ModePages  = "pages"
	ModeBranch = "branch"
	ModeS3     = "s3"
)

// Settings of --per-pin-urls.
const (
	// PerPinAuto builds them when they keep the Pages artifact, or the branch,
	// within its budget, and otherwise says why not.
	PerPinAuto = "auto"
	PerPinOn   = "on"
	PerPinOff  = "off"
)

// Config is everything a run needs.
type Config struct {
	Cache       string
	AuthToken   string
	CachixURL   string
	Substituter string
	NetrcFile   string // HTTP basic auth for binary caches, by host
	PublicKeys  []string
	PinsFile    string
	// PinsFrom is an S3 binary cache whose pins (niks3's layout,
	// pkg/source/s3pins) are read instead of Cachix's: s3://BUCKET[/PREFIX].
	PinsFrom      string
	CacheInfoFile string
	Include       []string
	Exclude       []string
	OnInvalid     pins.Policy
	Verify        verify.Mode
	Upstream      []string // binary caches asked for what the cache lacks
	Concurrency   int      // narinfo requests in flight
	// Reverify walks every closure; otherwise verdicts of the previous
	// publish younger than ReverifyAfter are reused (pkg/verdicts).
	Reverify      bool
	ReverifyAfter time.Duration
	AllowEmpty    bool
	Out           string
	Mode          string

	PagesURL    string
	Artifact    string
	KeepBundles int
	// PerPinURLs says whether one-name bundles (URL/p/NAME) are built:
	// PerPinAuto, PerPinOn or PerPinOff.
	PerPinURLs string

	Repo          string // OWNER/REPO
	Branch        string
	GitHubToken   string
	GitHubAPIURL  string
	CommitMessage string
	AuthorName    string
	AuthorEmail   string
	ForceBranch   bool

	// S3 mode: the bucket prefix, the endpoint (empty: AWS), the public
	// URL consumers fetch, and whether to adopt a prefix not ours.
	S3URL       string
	S3Endpoint  string
	SiteURL     string
	ForcePrefix bool

	Pins    []PinSpec    // made before publishing
	PinKeep *cachix.Keep // nil: Cachix's default

	// Timeout bounds the whole run: every request, retry and wait.
	Timeout time.Duration
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
	c := &Config{}
	opts := options(c)
	flags := make([]*multiFlag, len(opts))
	for i, o := range opts {
		flags[i] = &multiFlag{list: o.List}
		if o.Bool {
			fs.Var(boolFlag{flags[i]}, o.Name, o.Usage)
		} else {
			fs.Var(flags[i], o.Name, o.Usage)
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
		if len(args) > 0 && args[0] == fs.Arg(0) {
			if c := nearCommand(args[0]); c != "" {
				return nil, fmt.Errorf("%w: unknown command %q: did you mean %s?", ErrUsage, args[0], c)
			}
		}
		return nil, fmt.Errorf("%w: unexpected argument %q (all settings are flags)", ErrUsage, fs.Arg(0))
	}
	for i, o := range opts {
		if err := o.set(resolve(o, flags[i], getenv)); err != nil {
			return nil, fmt.Errorf("%w: --%s: %w", ErrUsage, o.Name, err)
		}
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
	if err := c.checkPaths(getenv); err != nil {
		return nil, err
	}
	return c, nil
}

// SecretValues returns the values of the secret options in args and in the
// environment, read before any parsing, so that they can be masked before
// anything (a usage error, say) is printed.
func SecretValues(args []string, getenv func(string) string) []string {
	var out []string
	for _, o := range Options() {
		if !o.Secret {
			continue
		}
		for _, key := range []string{InputEnv(o.Name), o.Env} {
			if v := strings.TrimSpace(getenv(key)); key != "" && v != "" {
				out = append(out, v)
			}
		}
		for i, a := range args {
			if a == "--" {
				break
			}
			name, v, eq := strings.Cut(strings.TrimLeft(a, "-"), "=")
			switch {
			case !strings.HasPrefix(a, "-") || name != o.Name:
			case eq:
				out = append(out, v)
			case i+1 < len(args):
				out = append(out, args[i+1])
			}
		}
	}
	return out
}

// usage prints --help: the options in their own order, each with where its
// value may come from.
func usage(w io.Writer, opts []Option) {
	fmt.Fprint(w, "Usage: create-pin-refs [flags]\n       create-pin-refs COMMAND [flags] [ARGS]\n       create-pin-refs --version\n\n"+
		"Publishes a binary cache's pins (Cachix's, or an S3 cache's: --pins-from) as a Nix\n"+
		"bundle that evaluates in milliseconds.\n"+
		"Each setting comes from its flag, else the action input INPUT_<NAME>, else the\n"+
		"environment variable named, else its default.\n\nCommands (create-pin-refs COMMAND --help):\n")
	for _, c := range Commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c[0], c[1])
	}
	fmt.Fprint(w, "\nFlags:\n")
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

// FromCachix reports whether the pins come from the Cachix API, not from
// --pins-file or --pins-from.
func (c *Config) FromCachix() bool { return c.PinsFile == "" && c.PinsFrom == "" }
