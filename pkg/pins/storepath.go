package pins

import (
	"fmt"
	"strings"
)

// StoreDir is the only store directory a bundle can point into: the store paths are
// copied from caches that serve /nix/store.
const StoreDir = "/nix/store"

const nixBase32 = "0123456789abcdfghijklmnpqrsvwxyz"

// ValidateStorePath checks p against Nix's store-path grammar:
// /nix/store/ + 32 nix-base32 characters + "-" + a name of at most 211 characters
// drawn from [A-Za-z0-9+-._?=] that does not start with a dot.
func ValidateStorePath(p string) error {
	rest, ok := strings.CutPrefix(p, StoreDir+"/")
	if !ok {
		return fmt.Errorf("%q is not under %s/", p, StoreDir)
	}
	if len(rest) < 34 || rest[32] != '-' {
		return fmt.Errorf("%q does not have the form %s/<32-character hash>-<name>", p, StoreDir)
	}
	for i := 0; i < 32; i++ {
		if !isBase32(rest[i]) {
			return fmt.Errorf("%q: hash character %q is not in Nix's base-32 alphabet", p, rest[i])
		}
	}
	name := rest[33:]
	if len(name) > 211 {
		return fmt.Errorf("%q: name is longer than 211 characters", p)
	}
	if name[0] == '.' {
		return fmt.Errorf("%q: name starts with a dot", p)
	}
	for _, c := range []byte(name) {
		if !isNameChar(c) {
			return fmt.Errorf("%q: character %q is not allowed in a store path name (a path inside the store path is not a store path)", p, c)
		}
	}
	return nil
}

func isNameChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '+', '-', '.', '_', '?', '=':
		return true
	}
	return false
}

// isBase32 reports whether c is in nixBase32: digits and lower-case letters
// but e, o, t and u.
func isBase32(c byte) bool {
	switch {
	case '0' <= c && c <= '9':
		return true
	case 'a' <= c && c <= 'z':
		return c != 'e' && c != 'o' && c != 't' && c != 'u'
	}
	return false
}

// StorePathName returns the name part of a valid store path ("hello-2.12").
func StorePathName(p string) string { return p[len(StoreDir)+1+33:] }
