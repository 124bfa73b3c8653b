package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kwbauson/create-pin-refs/pkg/httpauth"
	"github.com/kwbauson/create-pin-refs/pkg/pins"
	"github.com/kwbauson/create-pin-refs/pkg/weburl"
)

// The subcommands; without one, the program publishes.
const (
	CommandList    = "list"
	CommandResolve = "resolve"
	CommandPin     = "pin"
	// CommandVersion prints the version, as --version does.
	CommandVersion = "version"
)

// DefaultPinWait bounds the wait for a new pin to show in the cache's list.
const DefaultPinWait = 2 * time.Minute

// Commands lists the subcommands and what each does, for --help.
func Commands() [][2]string {
	return [][2]string{
		{CommandList, "print the cache's pins as a table or JSON"},
		{CommandResolve, "print the store path a pin names for this system"},
		{CommandPin, "pin a store path (or a result link) in the cache"},
		{CommandVersion, "print the version, the commit and the Go release (also --version)"},
	}
}

// IsVersion reports whether arg asks for the version: --version, -version
// or the command version.
func IsVersion(arg string) bool {
	return arg == "--version" || arg == "-version" || arg == CommandVersion
}

// IsCommand reports whether arg names a subcommand.
func IsCommand(arg string) bool {
	for _, c := range Commands() {
		if c[0] == arg {
			return true
		}
	}
	return false
}

// API is where a subcommand finds the cache.
type API struct {
	Cache     string
	AuthToken string
	CachixURL string
}

// List is the configuration of `create-pin-refs list`.
type List struct {
	API
	JSON bool
}

// Resolve is the configuration of `create-pin-refs resolve`.
type Resolve struct {
	API
	Name   string
	System string // empty: the system this program runs on
}

// command parses one subcommand's arguments: flags bound to the fields of
// its configuration, and positional arguments anywhere among them.
type command struct {
	name, args, about string
	fs                *flag.FlagSet
	getenv            func(string) string
}

func newCommand(name, args, about string, out io.Writer, getenv func(string) string) *command {
	c := &command{name: name, args: args, about: about, fs: flag.NewFlagSet("create-pin-refs "+name, flag.ContinueOnError), getenv: getenv}
	c.fs.SetOutput(out)
	c.fs.Usage = c.usage
	return c
}

// api binds the options every subcommand shares, described as for the
// publishing command.
func (c *command) api(a *API) {
	for _, o := range Options() {
		var field *string
		switch o.Name {
		case "cache":
			field, o.Usage = &a.Cache, "Cachix cache `name` (required)"
		case "auth-token":
			field = &a.AuthToken
		case "cachix-url":
			field = &a.CachixURL
		default:
			continue
		}
		*field = o.Default
		if v := strings.TrimSpace(c.getenv(o.Env)); o.Env != "" && v != "" {
			*field = v
		}
		if o.Env != "" {
			o.Usage += " (env " + o.Env + ")"
		}
		c.fs.StringVar(field, o.Name, *field, o.Usage)
	}
}

func (c *command) usage() {
	w := c.fs.Output()
	fmt.Fprintf(w, "Usage: create-pin-refs %s %s\n\n%s\n\nFlags:\n", c.name, c.args, c.about)
	c.fs.VisitAll(func(f *flag.Flag) {
		name, text := flag.UnquoteUsage(f)
		if name != "" {
			name = " " + name
		}
		fmt.Fprintf(w, "  --%s%s\n    \t%s", f.Name, name, text)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "[]" && !strings.Contains(f.Name, "token") {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}

// parse reads args, flags and positional arguments mixed, and checks that
// exactly want positional arguments were given.
func (c *command) parse(args []string, want ...*string) error {
	var pos []string
	for {
		if err := c.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return ErrHelp
			}
			return fmt.Errorf("%w: %s: %v", ErrUsage, c.name, err)
		}
		rest := c.fs.Args()
		if len(rest) == 0 {
			break
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
	switch {
	case len(pos) > len(want):
		return fmt.Errorf("%w: %s: unexpected argument %q (usage: create-pin-refs %s %s)", ErrUsage, c.name, pos[len(want)], c.name, c.args)
	case len(pos) < len(want):
		return fmt.Errorf("%w: %s: missing arguments (usage: create-pin-refs %s %s)", ErrUsage, c.name, c.name, c.args)
	}
	for i, p := range pos {
		*want[i] = p
	}
	return nil
}

func (a *API) validate() error {
	if a.Cache == "" {
		return bad("cache", "required (the Cachix cache name)")
	}
	if !cachePattern.MatchString(a.Cache) {
		return bad("cache", "%q is not a Cachix cache name (lower-case letters, digits and hyphens: the NAME of NAME.cachix.org)", a.Cache)
	}
	if hasControl(a.AuthToken) {
		return bad("auth-token", "holds a line break or another control character; a token is one line (check how the secret was stored)")
	}
	if _, err := weburl.Parse(a.CachixURL); err != nil {
		return bad("cachix-url", "%v", err)
	}
	if err := httpauth.Check(a.CachixURL, a.AuthToken); err != nil {
		return bad("cachix-url", "%v", err)
	}
	return nil
}

// LoadList reads the arguments of `list`.
func LoadList(args []string, getenv func(string) string, out io.Writer) (*List, error) {
	cfg := &List{}
	c := newCommand(CommandList, "--cache NAME [--json]", "Prints the cache's pins: name, system, store path, revision, creation time and artifacts.", out, getenv)
	c.api(&cfg.API)
	c.fs.BoolVar(&cfg.JSON, "json", false, "print JSON (an array of pins) instead of a table")
	if err := c.parse(args); err != nil {
		return nil, err
	}
	return cfg, cfg.validate()
}

// LoadResolve reads the arguments of `resolve`.
func LoadResolve(args []string, getenv func(string) string, out io.Writer) (*Resolve, error) {
	cfg := &Resolve{}
	c := newCommand(CommandResolve, "--cache NAME [--system SYSTEM] PIN",
		"Prints the store path of the pin PIN for this system (PIN.SYSTEM), else of the\n"+
			"system-less pin PIN, and nothing else: nix-store -r $(create-pin-refs resolve …).\n"+
			"Exits 1, listing close names, when there is no such pin.", out, getenv)
	c.api(&cfg.API)
	c.fs.StringVar(&cfg.System, "system", "", "Nix `system` to resolve for (default: the one this program runs on)")
	if err := c.parse(args, &cfg.Name); err != nil {
		return nil, err
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Name == "" {
		return nil, fmt.Errorf("%w: resolve: the pin name is empty", ErrUsage)
	}
	if cfg.System != "" && !pins.IsSystem(cfg.System) {
		return nil, bad("system", "%q is not a Nix system (such as x86_64-linux or aarch64-darwin)", cfg.System)
	}
	return cfg, nil
}

// nearCommand is the subcommand arg is a slip of (at most two letters
// added, dropped, changed or swapped), or "".
func nearCommand(arg string) string {
	if len(arg) > 12 {
		return ""
	}
	for _, c := range Commands() {
		if distance(strings.ToLower(arg), c[0]) <= 2 {
			return c[0]
		}
	}
	return ""
}

// distance is the optimal string alignment distance of a and b: the
// edits (insert, delete, substitute, swap two neighbours) from one to
// the other.
func distance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
