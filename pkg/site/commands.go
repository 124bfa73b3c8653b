package site

import (
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/kwbauson/create-pin-refs/pkg/bundle"
	"github.com/kwbauson/create-pin-refs/pkg/pins"
)

// pinGroup is one name with its pins, one per system, and its commands.
type pinGroup struct {
	ID       string
	Name     string
	Pins     []pins.Pin
	Commands []Command
	// Programs are the pins' programs ("bin/tool"), sorted and distinct.
	Programs []string
}

// groupPins groups pins, sorted by name then system as a pins.Set is, by
// name, with the commands that use each name: the first limit names (all when
// limit < 0), and how many names there are.
func groupPins(ps []pins.Pin, url, flakeRef string, limit int) (groups []pinGroup, names int) {
	last := ""
	for i, p := range ps {
		if i == 0 || p.Name != last {
			names++
			last = p.Name
			if limit < 0 || len(groups) < limit {
				// Ids from positions: names may hold anything, ids should not.
				groups = append(groups, pinGroup{ID: "pin-" + strconv.Itoa(names), Name: p.Name})
			}
		}
		if len(groups) < names {
			continue // past the limit
		}
		g := &groups[len(groups)-1]
		g.Pins = append(g.Pins, p)
		if p.Program != "" && !slices.Contains(g.Programs, p.Program) {
			g.Programs = append(g.Programs, p.Program)
		}
	}
	for i := range groups {
		g := &groups[i]
		slices.Sort(g.Programs)
		g.Commands = Commands(url, flakeRef, g.Name, g.Programs)
	}
	return groups, names
}

// Commands returns copy-paste commands for the pins called name, served at url
// (a tarball, as `-f` and flakes take it) and, when flakeRef is set, through that
// flake reference too. programs are the pins' programs ("bin/tool"); without one
// there is nothing to run, only to build or put on PATH.
//
// A name the command line cannot select (see AttrPath and FlakeFragment) gets
// `--impure --expr` commands instead.
func Commands(url, flakeRef, name string, programs []string) []Command {
	var cmds []Command
	add := func(label string, args ...string) { cmds = append(cmds, command(label, args...)) }
	if frag, ok := FlakeFragment(name); ok && len(programs) > 0 {
		add("Run", "nix", "run", url+"#"+frag)
		if flakeRef != "" {
			add("Run from "+flakeRef, "nix", "run", flakeRef+"#"+frag)
		}
	}
	// What `nix shell -c` runs: the program's name, found on PATH from bin/.
	var bins []string
	for _, p := range programs {
		if dir, file := path.Split(p); dir == "bin/" && file != "" && !slices.Contains(bins, file) {
			bins = append(bins, file)
		}
	}
	installable := []string{"-f", url}
	if attr, ok := AttrPath(name); ok {
		installable = append(installable, attr)
	} else {
		installable = []string{"--impure", "--expr", "(import (builtins.fetchTarball " + bundle.NixString(url) + ") { })." + NixAttr(name)}
	}
	add("Build", append([]string{"nix", "build"}, installable...)...)
	if len(bins) == 0 {
		add("Shell", append([]string{"nix", "shell"}, installable...)...)
	}
	for _, b := range bins {
		label := "Shell"
		if len(bins) > 1 {
			label = "Shell (" + b + ")"
		}
		add(label, append(append([]string{"nix", "shell"}, installable...), "-c", b)...)
	}
	return cmds
}

// command is a Command running args, each quoted for the shell.
func command(label string, args ...string) Command {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = ShellQuote(a)
	}
	return Command{Label: label, Line: strings.Join(quoted, " ")}
}

// isNixIdent reports whether s can be written bare as an attribute name:
// [A-Za-z_][A-Za-z0-9_'-]*, not a keyword.
func isNixIdent(s string) bool {
	switch s {
	case "", "assert", "else", "if", "in", "inherit", "let", "or", "rec", "then", "with", "__curPos":
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case i > 0 && (c >= '0' && c <= '9' || c == '\'' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// NixAttr writes name as one attribute name in Nix code, such as
// `pins.${NixAttr(name)}`: bare when it is a plain identifier, else a string
// literal with `"`, `\` and `$` escaped ("v1.7" for v1.7).
//
// The command line does not read Nix code: use AttrPath there.
func NixAttr(name string) string {
	if isNixIdent(name) {
		return name
	}
	return bundle.NixString(name)
}

// AttrPath writes name as an attribute path for the command line (`nix build -f
// URL ATTRPATH`, `nix-build -A`), whose parser is not Nix's: dots separate names
// unless inside double quotes, and nothing is escaped. So a name with a dot is
// wrapped in quotes, `\` and `$` are written as they are, and a name holding `"`
// cannot be written at all. Nor can one holding `^`: Nix 2.13 and later read what
// follows the last `^` as the outputs to build. ok is false for those names and
// for the empty one.
func AttrPath(name string) (attr string, ok bool) {
	// An empty path would select the whole set.
	if name == "" || strings.ContainsAny(name, `"^`) {
		return "", false
	}
	if isNixIdent(name) {
		return name, true
	}
	return `"` + name + `"`, true
}

// FlakeFragment writes name as the fragment of a flake reference (`URL#FRAGMENT`):
// the attribute path of AttrPath, percent-encoded where a URL needs it, since Nix
// decodes the fragment before reading the path. `^` is encoded too, which keeps it
// from being read as an outputs selector. ok is false for a name holding `"` and
// for the empty one.
func FlakeFragment(name string) (fragment string, ok bool) {
	// An empty fragment would select the default package.
	if name == "" || strings.Contains(name, `"`) {
		return "", false
	}
	attr := name
	if !isNixIdent(name) {
		attr = `"` + name + `"`
	}
	const hex = "0123456789ABCDEF"
	var sb strings.Builder
	for i := 0; i < len(attr); i++ {
		switch c := attr[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '-', c == '.', c == '_', c == '~', c == '\'', c == '"':
			sb.WriteByte(c)
		default:
			sb.WriteByte('%')
			sb.WriteByte(hex[c>>4])
			sb.WriteByte(hex[c&15])
		}
	}
	return sb.String(), true
}

// ShellQuote quotes s as one word for POSIX shells, bash and zsh: unchanged when
// it holds only [A-Za-z0-9._/:+=@%,-] and does not start with "=", else wrapped in
// single quotes, a quote inside becoming close-quote, backslash-quote, open-quote.
// "#" and "^" are quoted too: zsh's extendedglob makes them patterns (the familiar
// "no matches found" for nixpkgs#hello), and "#" starting a word begins a comment;
// "=" starting a word names a command's path in zsh. s must not hold NUL, which no
// argument can.
func ShellQuote(s string) string {
	safe := s != "" && s[0] != '='
	for i := 0; safe && i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("._/:+=@%,-", c) >= 0:
		default:
			safe = false
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
