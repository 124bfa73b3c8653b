package e2e

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
)

// checkListed checks a listing that worked: its output names the pin, and it
// fetched and built nothing.
func checkListed(ctx context.Context, in *install, listed *regexp.Regexp, p testPin, results []cmdResult) []string {
	var problems []string
	ansi := regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)
	if out := ansi.ReplaceAllString(results[len(results)-1].stdout, ""); !listed.MatchString(out) {
		problems = append(problems, fmt.Sprintf("the output does not match %s", listed))
	}
	for _, r := range results {
		if len(r.log.built) > 0 {
			problems = append(problems, "built "+strings.Join(r.log.built, " "))
		}
	}
	inv, err := in.invalid(ctx, p.closure)
	if err != nil {
		return append(problems, err.Error())
	}
	if len(inv) != len(p.closure) {
		problems = append(problems, "fetched part of the pin's closure, which a listing must not")
	}
	return problems
}

// checkSubstituted checks a cell that worked: the program printed its lines, and
// the pin's closure, absent before, came from the binary cache with nothing
// built but the bundle's wrapper.
func checkSubstituted(ctx context.Context, in *install, fx *fixture, c cell, ci cellInput, host string, results []cmdResult) []string {
	var problems []string
	p := ci.pin
	want := p.want
	if c.want != nil {
		want = c.want(ci)
	}
	lines := strings.Split(results[len(results)-1].stdout, "\n")
	for _, w := range want {
		if !slices.Contains(lines, w) {
			problems = append(problems, fmt.Sprintf("the program did not print %q", w))
		}
	}
	inv, err := in.invalid(ctx, p.closure)
	if err != nil {
		return append(problems, err.Error())
	}
	if len(inv) > 0 {
		problems = append(problems, "not in the store afterwards: "+strings.Join(inv, " "))
	}
	inv, err = in.invalid(ctx, p.absent)
	if err != nil {
		return append(problems, err.Error())
	}
	if len(inv) != len(p.absent) {
		problems = append(problems, "fetched the system-less twin of a system-specific pin: "+strings.Join(p.absent, " "))
	}

	fetched := map[string]string{}
	var built []string
	for _, r := range results {
		for k, v := range r.log.fetched {
			fetched[k] = v
		}
		built = append(built, r.log.built...)
	}
	for _, path := range p.closure {
		want := fx.substituter
		if slices.Contains(p.upstream, path) {
			want = fx.upstream
		}
		if from := fetched[path]; strings.TrimSuffix(from, "/") != strings.TrimSuffix(want, "/") {
			problems = append(problems, fmt.Sprintf("not substituted from %s: %s (from %q)", want, path, from))
		}
	}
	for _, drv := range built {
		if !isSymlinkTree(in, drv) {
			problems = append(problems, "built "+drv+" (only builtin:buildenv symlink trees may be built)")
		}
	}
	if c.link != "" {
		target, err := os.Readlink(host + "/" + c.link)
		switch {
		case err != nil:
			problems = append(problems, err.Error())
		case c.pinLink && target != p.path:
			problems = append(problems, c.link+" leads to "+target+", not to the pin "+p.path)
		case !strings.HasPrefix(target, storeDir+"/"):
			problems = append(problems, c.link+" leads to "+target+", outside the store")
		}
	}
	return problems
}

// isSymlinkTree reports whether drv is a builtin:buildenv derivation: the
// bundle's wrapper of a pin, or nix-env's profile, both local symlink trees.
func isSymlinkTree(in *install, drv string) bool {
	data, err := os.ReadFile(in.hostPath(drv))
	return err == nil && strings.Contains(string(data), `"builtin:buildenv"`)
}
