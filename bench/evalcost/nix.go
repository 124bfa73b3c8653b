package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/kwbauson/create-pin-refs/pkg/pins"
)

// nixRunner runs one Nix installation, on the host or inside a chroot.
type nixRunner struct {
	root, version string
	// realPath is a valid store path of this Nix's store; forced pins point at it.
	realPath string
}

// command runs prog (nix or nix-store, found on PATH) with args.
func (r *nixRunner) command(prog string, args ...string) *exec.Cmd {
	var cmd *exec.Cmd
	if r.root == "" {
		cmd = exec.Command(prog, args...)
	} else {
		cmd = exec.Command("chroot", append([]string{r.root, prog}, args...)...)
	}
	cmd.Env = append(os.Environ(), "NIX_CONFIG="+nixConfig)
	return cmd
}

// seen translates a host path to the path this Nix sees.
func (r *nixRunner) seen(hostPath string) string {
	if r.root == "" {
		return hostPath
	}
	rel, err := filepath.Rel(r.root, hostPath)
	if err != nil || strings.HasPrefix(rel, "..") {
		panic("evalcost: " + hostPath + " is outside the chroot " + r.root)
	}
	return "/" + rel
}

func (r *nixRunner) output(prog string, args ...string) (string, error) {
	cmd := r.command(prog, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s: %w: %s", strings.Join(cmd.Args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

func (r *nixRunner) init() error {
	v, err := r.output("nix", "--version")
	if err != nil {
		return err
	}
	r.version = v[strings.LastIndexByte(v, ' ')+1:]
	if r.root != "" {
		r.version += " (chroot)"
	} else {
		r.version += " (host)"
	}
	return nil
}

// addRealPath makes file (a host path) a valid store path of this Nix. It is run
// before every measurement, so a garbage collection meanwhile does no harm.
func (r *nixRunner) addRealPath(file string) error {
	p, err := r.output("nix-store", "--add", r.seen(file))
	if err != nil {
		return err
	}
	if err := pins.ValidateStorePath(p); err != nil {
		return err
	}
	r.realPath = p
	return nil
}
