package config

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
)

// DefaultCachixURL is the Cachix API's base URL.
const DefaultCachixURL = "https://app.cachix.org"

// SystemPlaceholder in a pin name of --pin stands for the system the program
// runs on.
const SystemPlaceholder = "{system}"

// PinSpec is one NAME=PATH of --pin: pin PATH (a store path, or a symlink to
// one such as a result link) as NAME before publishing.
type PinSpec struct {
	Name string
	Path string
}

// WithSystem is the pin name with SystemPlaceholder filled in.
func (p PinSpec) WithSystem(system string) string {
	return strings.ReplaceAll(p.Name, SystemPlaceholder, system)
}

// checkPlaceholders refuses braces in a pin name other than SystemPlaceholder's.
func checkPlaceholders(name string) error {
	if rest := strings.ReplaceAll(name, SystemPlaceholder, ""); strings.ContainsAny(rest, "{}") {
		return fmt.Errorf("pin name %q: the only placeholder is %s", name, SystemPlaceholder)
	}
	return nil
}

// pinSpecs parses NAME=PATH values; a path may hold "=", a name may not.
func pinSpecs(field *[]PinSpec) func([]string) error {
	return func(values []string) error {
		*field = nil
		for _, v := range values {
			name, path, ok := strings.Cut(v, "=")
			name, path = strings.TrimSpace(name), strings.TrimSpace(path)
			switch {
			case !ok || name == "" || path == "":
				return fmt.Errorf("%q is not NAME=PATH (one pin per line, such as hello.{system}=result)", v)
			case hasControl(name) || hasControl(path):
				return fmt.Errorf("%q holds a control character", v)
			}
			if err := checkPlaceholders(name); err != nil {
				return err
			}
			*field = append(*field, PinSpec{Name: name, Path: path})
		}
		return nil
	}
}

// keepPolicy parses revisions:N, days:N or forever; empty leaves it to Cachix.
func keepPolicy(field **cachix.Keep) func([]string) error {
	return func(values []string) error {
		var s string
		_ = text(&s)(values)
		*field = nil
		kind, num, hasNum := strings.Cut(strings.TrimSpace(s), ":")
		if kind == "" && !hasNum {
			return nil
		}
		if kind == "forever" && !hasNum {
			*field = cachix.KeepForever()
			return nil
		}
		n, err := strconv.Atoi(num)
		switch {
		case !hasNum || err != nil || n < 1 || kind != "revisions" && kind != "days":
			return fmt.Errorf("%q is not revisions:N, days:N or forever (N at least 1)", s)
		case kind == "days":
			*field = cachix.KeepDays(n)
		default:
			*field = cachix.KeepRevisions(n)
		}
		return nil
	}
}

// validatePins checks what --pin needs: the API, and a token to write.
func (c *Config) validatePins() error {
	if len(c.Pins) == 0 {
		if c.PinKeep != nil {
			return bad("pin-keep", "given without --pin")
		}
		return nil
	}
	switch {
	case !c.FromCachix():
		return bad("pin", "cannot be used with --pins-file or --pins-from: the pins made are read back from the Cachix API")
	case c.Cache == "":
		return bad("cache", "required with --pin (the cache to pin in)")
	case c.AuthToken == "":
		return bad("auth-token", "required with --pin: a Cachix token with write access to %s (in a workflow: auth-token: ${{ secrets.CACHIX_AUTH_TOKEN }})", c.Cache)
	}
	seen := map[string]bool{}
	for _, p := range c.Pins {
		if seen[p.Name] {
			return bad("pin", "%q is given twice", p.Name)
		}
		seen[p.Name] = true
	}
	return nil
}
