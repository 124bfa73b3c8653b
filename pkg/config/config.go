package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/kwbauson/create-pin-refs/pkg/pins"
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
		usage := o.Usage
		if o.Env != "" {
			usage += " (env " + o.Env + ")"
		}
		if o.Bool {
			fs.Var(boolFlag{f}, o.Name, usage)
		} else {
			fs.Var(f, o.Name, usage)
		}
		if o.Default != "" && !o.Bool {
			// flag prints defaults from the Value's String; keep it in the text.
			fs.Lookup(o.Name).DefValue = o.Default
		}
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: create-pin-refs [flags]\n\nPublishes a Cachix cache's pins as a Nix bundle that evaluates in milliseconds.\nEvery flag is also an action input (INPUT_<NAME>).\n\nFlags:\n")
		fs.PrintDefaults()
	}
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
	}
	var err error
	if c.AllowEmpty, err = parseBool("allow-empty", one("allow-empty")); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
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
	if c.Cache != "" && strings.ContainsAny(c.Cache, "/?#% \t\n") {
		return bad("cache", "%q is not a cache name", c.Cache)
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
	return nil
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", s)
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
