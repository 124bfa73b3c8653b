// Package cli is the program: it loads the configuration, reads the pins, renders
// the bundle, writes the site and publishes it, and maps errors to exit codes.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kwbauson/create-pin-refs/pkg/actions"
	"github.com/kwbauson/create-pin-refs/pkg/bundle"
	"github.com/kwbauson/create-pin-refs/pkg/config"
	"github.com/kwbauson/create-pin-refs/pkg/netrc"
	"github.com/kwbauson/create-pin-refs/pkg/pins"
	"github.com/kwbauson/create-pin-refs/pkg/retry"
	"github.com/kwbauson/create-pin-refs/pkg/site"
	"github.com/kwbauson/create-pin-refs/pkg/verify"
)

// Exit codes.
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
)

// Env is what the program takes from the process, injectable for tests.
type Env struct {
	Getenv     func(string) string
	Stdout     io.Writer
	Stderr     io.Writer
	HTTPClient *http.Client // nil: clients with timeouts
	Retry      retry.Policy // zero: retry.Default(); tests shorten it
	Version    string       // v1.4.0: in the User-Agent and the index page
	// VersionLine is what --version prints (buildinfo.Info.String); "":
	// create-pin-refs VERSION.
	VersionLine string
	// ArtifactBudget is where --per-pin-urls auto stops building one-name
	// bundles in a site; 0: site.ArtifactBudget. Tests lower it.
	ArtifactBudget int64
}

// Result is the outcome of a run; its fields become the action's outputs.
type Result struct {
	Set          *pins.Set
	Meta         bundle.Meta
	Names        int
	Files        int
	SiteDir      string
	ArtifactPath string
	URL          string
	FlakeRef     string
	Lock         string // what flake inputs should lock (site.IndexView.Lock)
	CommitSHA    string
	Changed      bool
	APICalls     int
	Readme       []byte // the bundle's README.md
	// PerPin is what became of the one-name bundles (URL/p/NAME).
	PerPin site.PerPinResult
	// PerPinURL is where they are served, with a slash (URL/p/ or
	// FLAKEREF?dir=p/), when built.
	PerPinURL string
	ones      *bundle.Ones      // nil: --per-pin-urls off
	written   map[string][]byte // the site's files as written (site.Output.Written)
	// bundlePath is the immutable bundle's path in the site (b/HASH.tar.gz).
	bundlePath string
	lockURL    string
	bucket     string // s3 mode: the prefix published to // the immutable bundle's URL with its narHash, as Link headers name it
}

// String is the one-line summary printed at the end.
func (r *Result) String() string {
	systems := "none of their own"
	if s := r.Set.Systems(); len(s) > 0 {
		systems = strings.Join(s, ", ")
	}
	line := fmt.Sprintf("%s (%s; systems: %s), %d skipped, %s written to %s",
		count(len(r.Set.Pins), "pin"), count(r.Names, "name"), systems, len(r.Set.Skipped), count(r.Files, "file"), r.SiteDir)
	if r.FlakeRef != "" {
		state := "unchanged"
		if r.Changed {
			state = "committed " + shortSHA(r.CommitSHA)
		}
		line += fmt.Sprintf("; %s %s in %s", r.FlakeRef, state, count(r.APICalls, "API call"))
	}
	if r.ArtifactPath != "" {
		line += "; Pages artifact " + r.ArtifactPath
	}
	if r.bucket != "" {
		line += fmt.Sprintf("; %s served at %s", r.bucket, r.URL)
	}
	return "published " + line
}

// count is "1 pin", "2 pins".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// Outputs are the step outputs declared in action.yml. Paths are given relative
// to GITHUB_WORKSPACE when inside it: the action runs in a container where the
// workspace is mounted elsewhere than on the runner, and later steps resolve
// relative paths against their own view of it.
func (r *Result) Outputs(getenv func(string) string) map[string]string {
	rel := func(p string) string {
		ws := getenv("GITHUB_WORKSPACE")
		if p == "" || ws == "" || !filepath.IsAbs(p) {
			return p
		}
		if r, err := filepath.Rel(ws, p); err == nil && r != ".." && !strings.HasPrefix(r, "../") {
			return r
		}
		return p
	}
	return map[string]string{
		"pins":          strconv.Itoa(len(r.Set.Pins)),
		"systems":       strings.Join(r.Set.Systems(), " "),
		"url":           r.URL,
		"flake-ref":     r.FlakeRef,
		"commit-sha":    r.CommitSHA,
		"changed":       strconv.FormatBool(r.Changed),
		"site-dir":      rel(r.SiteDir),
		"artifact-path": rel(r.ArtifactPath),
	}
}

func shortSHA(s string) string { return s[:min(len(s), 12)] }

// Main runs the program and returns its exit code.
func Main(ctx context.Context, args []string, env Env) int {
	if len(args) > 0 && config.IsVersion(args[0]) {
		return printVersion(args, env)
	}
	if code, ok := runCommand(ctx, args, env); ok {
		return code
	}
	rep, sink := newReporter(env)
	// Every secret, from the environment or a flag, is known before anything
	// is printed, a usage error included.
	for _, secret := range config.SecretValues(args, env.Getenv) {
		rep.Mask(secret)
	}
	if actions.Detect(env.Getenv) {
		// The run's first line: a bug report's log says which build it was.
		rep.Logf("%s", versionLine(env))
	}
	var usage strings.Builder
	cfg, err := config.Load(args, env.Getenv, &usage)
	if usage.Len() > 0 {
		fmt.Fprintln(env.Stderr, strings.Join(sink.Lines(strings.TrimSuffix(usage.String(), "\n")), "\n"))
	}
	switch {
	case errors.Is(err, config.ErrHelp):
		return ExitOK
	case err != nil:
		rep.Errorf("%v (see --help)", err)
		return ExitUsage
	}
	res, err := Run(ctx, cfg, env, rep)
	if err != nil {
		rep.Errorf("%v", err)
		if errors.Is(err, config.ErrUsage) {
			return ExitUsage
		}
		return ExitError
	}
	if err := rep.SetOutputs(res.Outputs(env.Getenv)); err != nil {
		rep.Errorf("%v", err)
		return ExitError
	}
	if err := rep.Summary(jobSummary(res)); err != nil {
		rep.Warnf("%v", err)
	}
	rep.Logf("%s", res)
	return ExitOK
}

// printVersion prints the version line on stdout for --version and
// `create-pin-refs version`, which take nothing else.
func printVersion(args []string, env Env) int {
	if len(args) == 2 && (args[1] == "--help" || args[1] == "-help" || args[1] == "-h") {
		fmt.Fprint(env.Stderr, "Usage: create-pin-refs version\n       create-pin-refs --version\n\n"+
			"Prints the version, the commit it was built from and the Go release, on stdout.\n")
		return ExitOK
	}
	if len(args) > 1 {
		// Not quoted: it may be a token (version --auth-token=…).
		fmt.Fprintf(env.Stderr, "create-pin-refs: error: %s takes no arguments (see --help)\n", args[0])
		return ExitUsage
	}
	if _, err := fmt.Fprintln(env.Stdout, versionLine(env)); err != nil {
		return ExitError
	}
	return ExitOK
}

func versionLine(env Env) string {
	if env.VersionLine != "" {
		return env.VersionLine
	}
	return "create-pin-refs " + env.Version
}

// Run does the work for a validated configuration, one log group per phase.
// The pins are read again while other publishes come in between this run's
// reading and its publish, as far as the mode's publisher allows (branch
// and s3 modes, up to 5 rounds).
func Run(ctx context.Context, cfg *config.Config, env Env, rep reporter) (*Result, error) {
	if cfg.Timeout > 0 {
		env.Retry.Deadline = cfg.Timeout
	}
	ctx, cancel := env.Retry.Bound(ctx)
	defer cancel()
	var (
		res *Result
		pub publisher
	)
	// Read once, before any request: its passwords are masked from then on.
	creds, err := readNetrc(cfg.NetrcFile, rep)
	if err == nil && len(cfg.Pins) > 0 {
		err = inGroup(rep, "Pinning", func() error { return pinAll(ctx, cfg, env, rep, creds) })
	}
	if err == nil {
		pub, err = newPublisher(ctx, cfg, env, rep)
	}
	for round := 1; err == nil; round++ {
		res, err = runRound(ctx, cfg, env, rep, pub, creds)
		again := false
		if again, err = pub.again(ctx, env, round, res, err); !again {
			break
		}
	}
	if err != nil {
		return nil, explain(err, cfg)
	}
	return res, nil
}

// runRound reads the pins (in branch mode after the branch's head), verifies
// them, renders the bundle and the site and publishes it. Requests that
// need nothing of each other go out together: the cache's description with
// the branch's head, then the pins; the previous publish's pins.json and
// index.html with all of these and the closures' narinfo files.
func runRound(ctx context.Context, cfg *config.Config, env Env, rep reporter, pub publisher, creds *netrc.File) (*Result, error) {
	var (
		set  *pins.Set
		meta bundle.Meta
		auth cacheAuth
		own  verify.Source // the pins' cache as their source reads it
		out  rendered
		// Read before this round writes --out.
		prev = newEarlierSite(cfg, env, rep, pub)
	)
	ctx, cancel := context.WithCancel(ctx)
	if whole, start, index := earlierNeeds(cfg, prev.branch != nil); whole || start {
		prev.prefetch(ctx, whole, index, cfg.KeepBundles)
	}
	defer func() {
		cancel()
		prev.wait() // no request of the round outlives it
	}()
	err := inGroup(rep, "Reading pins", func() error {
		read, err := readPins(ctx, cfg, env, rep, func(ctx context.Context) error {
			if err := pub.readBase(ctx); err != nil {
				return err
			}
			prev.prefetchBranch(ctx, cfg) // beside the pins
			return nil
		})
		if err != nil {
			return err
		}
		meta = bundleMeta(cfg, read.info)
		auth = cacheAuth{token: cfg.AuthToken, own: ownBinaryCache(meta.Cache, read.info), netrc: creds}
		own = read.cache
		set, err = buildSet(cfg, rep, read)
		return err
	})
	if err == nil && cfg.Verify != verify.Off {
		err = inGroup(rep, "Verifying the pins in the binary caches", func() error {
			return verifyPins(ctx, cfg, env, rep, set, meta, auth, own, prev)
		})
	}
	if err == nil {
		err = inGroup(rep, "Rendering the bundle", func() (err error) {
			prev.wait() // read whole before --out is written
			out, err = writeSite(ctx, cfg, env, rep, set, meta, pub, prev)
			out.earlier = prev.files()
			return err
		})
	}
	if err == nil && pub.title() != "" {
		err = inGroup(rep, pub.title(), func() error { return pub.publish(ctx, cfg, out) })
	}
	return out.res, err
}

// inGroup runs f as one phase of a run, in its own log group, and says how
// long it took (the phases' figures are what BENCHMARKS.md splits a run into).
func inGroup(rep reporter, title string, f func() error) error {
	rep.Group(title)
	defer rep.EndGroup()
	start := time.Now()
	err := f()
	if err == nil {
		rep.Logf("%s", tookLine(title, time.Since(start)))
	}
	return err
}

// tookLine is a phase's last line, "Reading pins took 12.3ms": three figures,
// so that a fast phase does not read 0s, in a form bench reads back.
func tookLine(title string, d time.Duration) string {
	return title + " took " + retry.Round(d).String()
}
