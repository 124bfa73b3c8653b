package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kwbauson/create-pin-refs/test/nixlock"
)

// Bounds on external commands: generous, since they only stop a hung process and
// never decide a result.
const (
	cmdTimeout = 3 * time.Minute
	// waitDelay stops waiting for pipes held open by a killed command's children.
	waitDelay = 10 * time.Second
)

// chrootPath is PATH inside a chroot: Debian's default.
const chrootPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// storeDir is where every installation keeps its store; the pins name paths there.
const storeDir = "/nix/store"

// nixVersion is a Nix release number.
type nixVersion struct{ major, minor, patch int }

func (v nixVersion) atLeast(major, minor int) bool {
	return v.major > major || v.major == major && v.minor >= minor
}

func (v nixVersion) String() string { return fmt.Sprintf("%d.%d.%d", v.major, v.minor, v.patch) }

// parseNixVersion reads `nix --version`, such as "nix (Nix) 2.26.3".
func parseNixVersion(s string) (nixVersion, error) {
	m := regexp.MustCompile(`\b(\d+)\.(\d+)(?:\.(\d+))?`).FindStringSubmatch(s)
	if m == nil {
		return nixVersion{}, fmt.Errorf("no version number in %q", strings.TrimSpace(s))
	}
	var v nixVersion
	v.major, _ = strconv.Atoi(m[1])
	v.minor, _ = strconv.Atoi(m[2])
	v.patch, _ = strconv.Atoi(m[3]) // "" (no patch) gives 0
	return v, nil
}

// nixConf is the NIX_CONFIG of one command: nothing comes from the machine's own
// caches, and no answer is remembered between commands.
type nixConf struct {
	fetchClosure bool
	substituter  string // "" disables substitution
	publicKey    string
	netrcFile    string // "" keeps Nix's default
}

func (c nixConf) String() string {
	features := "nix-command flakes"
	if c.fetchClosure {
		features += " fetch-closure"
	}
	lines := []string{
		"experimental-features = " + features,
		"sandbox = false",
		"build-users-group =",
		"narinfo-cache-positive-ttl = 0",
		"narinfo-cache-negative-ttl = 0",
		"tarball-ttl = 0",
		"substituters = " + c.substituter,
		"trusted-public-keys = " + c.publicKey,
	}
	if c.netrcFile != "" {
		lines = append(lines, "netrc-file = "+c.netrcFile)
	}
	return strings.Join(lines, "\n")
}

// install is one Nix installation under test.
type install struct {
	spec    string // as given in CPR_NIX
	root    string // the chroot; "" for the host
	version nixVersion
	system  string
	// base is this installation's scratch folder: hostBase as the test sees it,
	// nixBase as its Nix sees it (they differ inside a chroot).
	hostBase, nixBase string
	// gcLock is the garbage collector's lock as the test sees it; "" for a
	// daemon's store (see holdOffGC).
	gcLock string
}

// openInstall checks a CPR_NIX spec and probes the installation. The scratch
// folder is removed at cleanup.
func openInstall(ctx context.Context, spec string, cleanup func(func())) (*install, error) {
	in := &install{spec: spec}
	switch {
	case spec == "host":
		if _, err := exec.LookPath("nix"); err != nil {
			return nil, fmt.Errorf("CPR_NIX names %q but there is no nix on PATH", spec)
		}
		dir, err := os.MkdirTemp("", "cpr-e2e-")
		if err != nil {
			return nil, err
		}
		cleanup(func() { os.RemoveAll(dir) })
		in.hostBase, in.nixBase = dir, dir
	case strings.HasPrefix(spec, "chroot:"):
		root := strings.TrimPrefix(spec, "chroot:")
		if !filepath.IsAbs(root) {
			return nil, fmt.Errorf("%q: the chroot must be an absolute path", spec)
		}
		if os.Geteuid() != 0 {
			return nil, fmt.Errorf("%q: entering a chroot needs root", spec)
		}
		if _, err := os.Stat(filepath.Join(root, "proc/self")); err != nil {
			return nil, fmt.Errorf("%q: /proc is not mounted in the chroot (run test/nix/setup.sh): %v", spec, err)
		}
		// Files for the chroot's Nix live under its /tmp, seen inside as /tmp/….
		dir, err := os.MkdirTemp(filepath.Join(root, "tmp"), "cpr-e2e-")
		if err != nil {
			return nil, fmt.Errorf("%q: %w", spec, err)
		}
		cleanup(func() { os.RemoveAll(dir) })
		in.root, in.hostBase, in.nixBase = root, dir, strings.TrimPrefix(dir, root)
	default:
		return nil, fmt.Errorf("CPR_NIX: unknown installation %q (want host or chroot:DIR)", spec)
	}
	if err := os.Chmod(in.hostBase, 0o755); err != nil {
		return nil, err
	}
	var err error
	if in.gcLock, err = findGCLock(ctx, in); err != nil {
		return nil, err
	}
	r := in.admin(ctx, "nix", "--version")
	if r.err != nil {
		return nil, fmt.Errorf("%s: %s", spec, r.describe())
	}
	v, err := parseNixVersion(r.stdout)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", spec, err)
	}
	in.version = v
	r = in.admin(ctx, "nix", "eval", "--impure", "--raw", "--expr", "builtins.currentSystem")
	if r.err != nil || r.stdout == "" {
		return nil, fmt.Errorf("%s: %s", spec, r.describe())
	}
	in.system = r.stdout
	return in, nil
}

// name labels the installation in test names and the matrix.
func (in *install) name() string {
	if in.root == "" {
		return "Nix " + in.version.String() + " (host)"
	}
	return "Nix " + in.version.String() + " (chroot " + filepath.Base(in.root) + ")"
}

// hostPath is where the test finds a path that this installation's Nix names.
func (in *install) hostPath(nixPath string) string { return in.root + nixPath }

// newDir makes an empty folder under the scratch folder; it returns the folder as
// the test sees it and as Nix sees it.
func (in *install) newDir(prefix string) (host, nix string, err error) {
	host, err = os.MkdirTemp(in.hostBase, prefix)
	if err != nil {
		return "", "", err
	}
	if err := os.Chmod(host, 0o755); err != nil {
		return "", "", err
	}
	return host, in.nixBase + strings.TrimPrefix(host, in.hostBase), nil
}

// env is the environment of a command: conf, and a HOME of its own so that no
// cache (eval, fetcher, narinfo) outlives the command's cell.
func (in *install) env(home string, conf nixConf) []string {
	return []string{
		"HOME=" + home,
		"XDG_CACHE_HOME=" + home + "/.cache",
		"XDG_CONFIG_HOME=" + home + "/.config",
		"XDG_DATA_HOME=" + home + "/.local/share",
		"XDG_STATE_HOME=" + home + "/.local/state",
		"NIX_CONFIG=" + conf.String(),
	}
}

// admin runs a store maintenance command, with no substituters.
func (in *install) admin(ctx context.Context, argv ...string) cmdResult {
	return in.run(ctx, in.adminEnv(), argv...)
}

func (in *install) adminEnv() []string { return in.env(in.nixBase+"/admin-home", nixConf{}) }

// deleting marks the context of a deletion, which holds the store lock
// exclusively: its commands must not ask for it shared.
type deleting struct{}

// run runs argv in the installation with env added, for at most cmdTimeout.
// It holds the store lock shared (test/nixlock): no test deletes from a store
// while a Nix command runs. Then it holds off the store's garbage collector
// (see holdOffGC): any collector, whoever runs it, can kill a Nix command
// running beside it. Always in this order: a deletion holds the store lock
// while its collector waits for gc.lock, so no command may hold gc.lock while
// it waits for the store lock.
func (in *install) run(ctx context.Context, env []string, argv ...string) cmdResult {
	if ctx.Value(deleting{}) == nil {
		unlock, err := nixlock.Shared()
		if err != nil {
			return cmdResult{argv: argv, err: err}
		}
		defer unlock()
	}
	release, err := in.holdOffGC(ctx)
	if err != nil {
		return cmdResult{argv: argv, err: err}
	}
	defer release()
	return in.runBesideGC(ctx, env, argv...)
}

// runBesideGC is run without holding off the garbage collector, for commands
// that run it.
func (in *install) runBesideGC(ctx context.Context, env []string, argv ...string) cmdResult {
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	var cmd *exec.Cmd
	if in.root == "" {
		cmd = exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = append(hostEnv(), env...)
		cmd.Dir = in.hostBase
	} else {
		// env -i: nothing of the test's environment leaks into the chroot.
		args := append([]string{in.root, "/usr/bin/env", "-i", "PATH=" + chrootPath}, env...)
		cmd = exec.CommandContext(ctx, "chroot", append(args, argv...)...)
		cmd.Env = []string{}
		cmd.Dir = "/"
	}
	cmd.WaitDelay = waitDelay
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("%w (%v)", err, ctx.Err())
	}
	r := cmdResult{argv: argv, stdout: strings.TrimSpace(stdout.String()), err: err, took: time.Since(start)}
	r.log = parseNixLog(stderr.String())
	return r
}

// hostEnv is the test's environment without what would make Nix read the user's
// own configuration or caches.
func hostEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "HOME" || strings.HasPrefix(k, "XDG_") || k == "NIX_CONFIG" || k == "NIX_USER_CONF_FILES" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// cmdResult is the outcome of one command.
type cmdResult struct {
	argv   []string
	stdout string
	log    nixLog
	err    error
	took   time.Duration
}

func (r cmdResult) describe() string {
	status := "exit 0"
	if r.err != nil {
		status = r.err.Error()
	}
	return fmt.Sprintf("$ %s\n(%s, %s)\nstdout:\n%s\nstderr:\n%s",
		shellJoin(r.argv), status, r.took.Round(time.Millisecond), indent(tail(r.stdout)), indent(tail(r.log.text)))
}

// nixLog is what a command logged with --log-format internal-json, or its plain
// stderr for commands that do not log that way.
type nixLog struct {
	built   []string          // derivations built locally
	fetched map[string]string // store path → the store it was copied from
	text    string            // messages and other stderr, without colours
}

// parseNixLog reads a command's stderr. Activity types are Nix's ActivityType
// numbers, unchanged since Nix 2.0 because the daemon protocol carries them.
func parseNixLog(stderr string) nixLog {
	const (
		actCopyPath   = 100 // fields: path, from, to
		actBuild      = 105 // fields: drv, machine, …
		actSubstitute = 108 // fields: path, substituter
	)
	ansi := regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)
	l := nixLog{fetched: map[string]string{}}
	var text strings.Builder
	for line := range strings.Lines(stderr) {
		js, ok := strings.CutPrefix(line, "@nix ")
		if !ok {
			text.WriteString(line)
			continue
		}
		var e struct {
			Action string
			Type   int
			Level  int
			Text   string
			Msg    string
			Fields []any
		}
		if err := json.Unmarshal([]byte(js), &e); err != nil {
			text.WriteString(line)
			continue
		}
		field := func(i int) string {
			if i < len(e.Fields) {
				s, _ := e.Fields[i].(string)
				return s
			}
			return ""
		}
		switch {
		case e.Action == "msg":
			text.WriteString(e.Msg + "\n")
		case e.Action == "start" && e.Type == actBuild:
			l.built = append(l.built, field(0))
		case e.Action == "start" && e.Type == actSubstitute:
			l.fetched[field(0)] = field(1)
		case e.Action == "start" && e.Type == actCopyPath:
			l.fetched[field(0)] = field(1)
		}
		if e.Action == "start" && e.Text != "" && e.Level <= 3 {
			text.WriteString(e.Text + "\n")
		}
	}
	l.text = ansi.ReplaceAllString(text.String(), "")
	return l
}

// invalid returns those of paths that are not valid in the store.
func (in *install) invalid(ctx context.Context, paths []string) ([]string, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	r := in.admin(ctx, append([]string{"nix-store", "--check-validity", "--print-invalid"}, paths...)...)
	if r.err != nil {
		return nil, errors.New(r.describe())
	}
	return strings.Fields(r.stdout), nil
}

// forget deletes paths, and everything that refers to them, from the store, so
// that only substitution can bring them back. Nothing may still use them.
//
// What the suite shares with other tests is not its store paths (each run
// names them with a nonce) nor its caches (each command has a HOME of its
// own, so eval, fetcher and narinfo caches too) but the store itself and its
// garbage collector, which `nix-store --delete` runs: it counts every Nix
// process's temporary roots and every store path any process has open, in
// /proc, as alive. A Nix command of another test (pkg/bundle, pkg/site, or
// another run of this suite) running at that moment could make a delete fail
// or stall it, once in a few runs. So a deletion holds the store lock
// (test/nixlock) exclusively, and every Nix command of every test holds it
// shared: they never overlap, and the wait is seconds.
func (in *install) forget(ctx context.Context, paths []string) error {
	if ctx.Value(deleting{}) == nil {
		unlock, err := nixlock.Exclusive()
		if err != nil {
			return err
		}
		defer unlock()
		ctx = context.WithValue(ctx, deleting{}, true)
	}
	inv, err := in.invalid(ctx, paths)
	if err != nil {
		return err
	}
	var valid []string
	for _, p := range paths {
		if !slices.Contains(inv, p) {
			valid = append(valid, p)
		}
	}
	if len(valid) == 0 {
		return nil
	}
	// What refers to a path has its hash in its contents, so the referrers of
	// this run's paths are this run's too, never a path other runs share.
	r := in.admin(ctx, append([]string{"nix-store", "-q", "--referrers-closure"}, valid...)...)
	if r.err != nil {
		return errors.New(r.describe())
	}
	// The collector itself: holding it off would wait for ourselves.
	// --ignore-liveness: a root that a cell left (a profile's or a result's
	// link in gcroots/auto, a derivation kept alive by keep-derivations) must
	// not stop the next cell from starting without the pin. Only this run's
	// paths are named, and the store lock keeps every other test's Nix command
	// out meanwhile.
	del := append([]string{"nix-store", "--delete", "--ignore-liveness"}, strings.Fields(r.stdout)...)
	r = in.runBesideGC(ctx, in.adminEnv(), del...)
	if r.err != nil {
		return fmt.Errorf("deleting test paths: %s", r.describe())
	}
	inv, err = in.invalid(ctx, paths)
	if err != nil {
		return err
	}
	for _, p := range paths {
		if !slices.Contains(inv, p) {
			return fmt.Errorf("%s is still valid after nix-store --delete", p)
		}
	}
	return nil
}

// shellJoin shows argv as a shell command line, for logs.
func shellJoin(argv []string) string {
	safe := regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)
	out := make([]string, len(argv))
	for i, a := range argv {
		if safe.MatchString(a) {
			out[i] = a
		} else {
			out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(out, " ")
}

// tail keeps the end of long output, where Nix puts the error.
func tail(s string) string {
	const max = 4000
	if len(s) > max {
		return "…" + s[len(s)-max:]
	}
	return s
}

func indent(s string) string {
	if s == "" {
		return "  (empty)"
	}
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ")
}
