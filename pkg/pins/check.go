package pins

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
)

// checkPin checks r, whose name SplitName splits into name and system.
func checkPin(r *cachix.Pin, name, system string) error {
	invalid := func(field string, err error) error {
		return &InvalidPinError{PinName: r.Name, Field: field, Err: err}
	}
	if err := validateName(r.Name); err != nil {
		return invalid("name", err)
	}
	if name == "" {
		return invalid("name", fmt.Errorf("nothing is left once the system %q is taken off", system))
	}
	if strings.HasPrefix(name, "__") || name == "outPath" {
		// Nix gives __functor, __toString and outPath a meaning of their own: one
		// in the set of pins would change how the whole set evaluates.
		return invalid("name", fmt.Errorf(`%q is reserved by Nix ("outPath" and names starting with "__"); rename the pin`, name))
	}
	if r.NoLastRevision {
		return invalid("lastRevision", NoRevisionError(r.Name))
	}
	rev := &r.LastRevision
	if err := ValidateStorePath(rev.StorePath); err != nil {
		return invalid("lastRevision.storePath", err)
	}
	for _, a := range rev.Artifacts {
		if err := validateArtifact(a); err != nil {
			return invalid("lastRevision.artifacts", err)
		}
	}
	return nil
}

// validateName rejects what no Nix attribute name or shell command line should
// carry; everything else is data and stays data.
func validateName(n string) error {
	switch {
	case n == "":
		return errors.New("empty")
	case len(n) > 1024:
		return fmt.Errorf("longer than 1024 bytes (%d)", len(n))
	case printableASCII(n):
		return nil // the common case, with no table to look up
	case !utf8.ValidString(n):
		return errors.New("not valid UTF-8")
	}
	for _, c := range n {
		// Format characters (bidirectional overrides, zero-width joiners) and line
		// separators would make the commands people copy read differently from
		// what they run.
		if unicode.In(c, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) {
			return fmt.Errorf("contains the control or format character %U", c)
		}
	}
	return nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

func validateArtifact(a string) error {
	switch {
	case a == "" || strings.HasPrefix(a, "/") || path.Clean(a) != a || a == "." || a == ".." || strings.HasPrefix(a, "../"):
		return fmt.Errorf("%q is not a plain relative path inside the store path", a)
	case !utf8.ValidString(a):
		return fmt.Errorf("%q is not valid UTF-8", a)
	}
	for _, c := range a {
		if unicode.IsControl(c) {
			return fmt.Errorf("%q contains the control character %U", a, c)
		}
	}
	return nil
}

// program picks the app's executable: the single bin/* artifact, else bin/NAME
// when NAME can be a file name.
func program(name string, artifacts []string) string {
	var bins []string
	for _, a := range artifacts {
		if dir, file := path.Split(a); dir == "bin/" && file != "" && !slices.Contains(bins, a) {
			bins = append(bins, a) // an artifact listed twice is still one
		}
	}
	if len(bins) == 1 {
		return bins[0]
	}
	if name == "." || name == ".." || strings.ContainsRune(name, '/') {
		return ""
	}
	return "bin/" + name
}
