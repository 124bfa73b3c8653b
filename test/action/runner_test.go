package action_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
	"github.com/kwbauson/create-pin-refs/test/fakecachix"
	"github.com/kwbauson/create-pin-refs/test/fakegithub"
	"github.com/kwbauson/create-pin-refs/test/ghoutput"
)

// This file runs the binary built like the image exactly as the GitHub Actions
// runner runs a container action's entrypoint: a minimal environment holding
// what the runner sets, every input of action.yml as INPUT_<NAME> (defaults and
// their expressions resolved as the runner does), the file-command files, and
// the workspace as working folder. Cachix and GitHub are the local fakes.

const (
	// stepTimeout bounds one run of the program and every helper command.
	stepTimeout = 2 * time.Minute
	cacheName   = "demo"
	owner       = "owner"
	repoName    = "repo"
)

// exampleNames are the pin names of examples/pins.json (without their system).
var exampleNames = []string{"hello", "ripgrep-static", "tool.v2", "v1.7", "docs"}

const exampleSystems = "aarch64-darwin aarch64-linux x86_64-linux"

// secret is a token the program must mask and never print.
type secret struct {
	label, value string
}

func newSecret(t *testing.T, label string) secret {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return secret{label: label, value: label + "-" + hex.EncodeToString(b)}
}

// runner plays the Actions runner for one job: one workspace, runs of the
// action's step in it.
type runner struct {
	t   *testing.T
	bin string

	workspace    string // GITHUB_WORKSPACE, the step's working folder (/github/workspace)
	runnerTemp   string // RUNNER_TEMP (/github/runner_temp)
	fileCommands string // GITHUB_OUTPUT and GITHUB_STEP_SUMMARY live here (/github/file_commands)
	home         string

	apiURL string // ${{ github.api_url }}, also GITHUB_API_URL
	token  string // ${{ github.token }}
	steps  int
	// offsite stands for every host but loopback: the steps never leave the
	// machine.
	offsite *offsite
	// env is the step's own `env:`, as KEY=VALUE.
	env []string
}

func newRunner(t *testing.T, apiURL, token string) *runner {
	t.Helper()
	base := t.TempDir()
	r := &runner{
		t:            t,
		bin:          buildLikeImage(t),
		workspace:    filepath.Join(base, "workspace"),
		runnerTemp:   filepath.Join(base, "runner_temp"),
		fileCommands: filepath.Join(base, "file_commands"),
		home:         filepath.Join(base, "home"),
		apiURL:       apiURL,
		token:        token,
		offsite:      startOffsite(t),
	}
	for _, d := range []string{r.workspace, r.runnerTemp, r.fileCommands, r.home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// stepResult is what a run left behind.
type stepResult struct {
	code           int
	stdout, stderr string
	outputFile     string            // GITHUB_OUTPUT's content
	outputs        map[string]string // parsed as the runner does
	summary        string            // GITHUB_STEP_SUMMARY's content
	passed         []string          // secret values passed in the environment
}

// runnerInputEnv is the runner's name for an input's variable: upper-cased,
// spaces to underscores, hyphens kept.
func runnerInputEnv(name string) string {
	return "INPUT_" + strings.ToUpper(strings.ReplaceAll(name, " ", "_"))
}

var expression = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

// inputEnv is every input of action.yml as the runner passes it: the
// workflow's `with` value, else the default with its expressions resolved,
// else the empty string.
func (r *runner) inputEnv(with map[string]string) []string {
	r.t.Helper()
	a := loadAction(r.t)
	known := map[string]bool{}
	var env []string
	for _, in := range a.Inputs {
		known[in.Name] = true
		v, ok := with[in.Name]
		if !ok {
			v = expression.ReplaceAllStringFunc(in.Default, func(m string) string {
				switch e := expression.FindStringSubmatch(m)[1]; e {
				case "github.token":
					return r.token
				case "github.api_url":
					return r.apiURL
				default:
					r.t.Fatalf("action.yml: input %s: default %q uses ${{ %s }}, which this runner simulation cannot resolve", in.Name, in.Default, e)
					return ""
				}
			})
		}
		env = append(env, runnerInputEnv(in.Name)+"="+v)
	}
	for k := range with {
		if !known[k] {
			r.t.Fatalf("the workflow sets input %q, which action.yml does not have", k)
		}
	}
	return env
}

// run runs the step with these `with` inputs, in the workspace.
func (r *runner) run(with map[string]string) stepResult {
	r.t.Helper()
	r.steps++
	output := filepath.Join(r.fileCommands, fmt.Sprintf("set_output_%d", r.steps))
	summary := filepath.Join(r.fileCommands, fmt.Sprintf("step_summary_%d", r.steps))
	for _, f := range []string{output, summary} {
		// The runner creates both files, empty, before the step.
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + r.home,
		"CI=true",
		"GITHUB_ACTIONS=true",
		"GITHUB_WORKSPACE=" + r.workspace,
		"RUNNER_TEMP=" + r.runnerTemp,
		"GITHUB_REPOSITORY=" + owner + "/" + repoName,
		"GITHUB_API_URL=" + r.apiURL,
		"GITHUB_OUTPUT=" + output,
		"GITHUB_STEP_SUMMARY=" + summary,
	}
	env = append(env, r.offsite.env()...)
	env = append(env, r.env...)
	env = append(env, r.inputEnv(with)...)
	res := execute(r.t, r.bin, nil, r.workspace, env)
	res.passed = secretsIn(env)
	data, err := os.ReadFile(output)
	if err != nil {
		r.t.Fatal(err)
	}
	res.outputFile = string(data)
	if res.outputs, err = ghoutput.Parse(res.outputFile); err != nil {
		r.t.Errorf("GITHUB_OUTPUT: %v\n%s", err, res.outputFile)
	}
	if data, err = os.ReadFile(summary); err != nil {
		r.t.Fatal(err)
	}
	res.summary = string(data)
	return res
}

// secretsIn lists the values of the token inputs and variables in env.
func secretsIn(env []string) []string {
	var out []string
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if v != "" && (strings.HasSuffix(k, "-TOKEN") || strings.HasSuffix(k, "_TOKEN")) {
			out = append(out, v)
		}
	}
	return out
}

// execute runs bin with a bounded time and returns its exit code and output.
func execute(t *testing.T, bin string, args []string, dir string, env []string) stepResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := stepResult{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && ctx.Err() == nil:
		res.code = exit.ExitCode()
	default:
		t.Fatalf("running %s: %v\nstdout:\n%s\nstderr:\n%s", bin, err, res.stdout, res.stderr)
	}
	return res
}

// checkMasking: every token passed is masked by the first line of stdout that
// mentions it, before any other kind of line; apart from those commands no
// token appears in stdout, stderr, GITHUB_OUTPUT or the job summary.
func checkMasking(t *testing.T, res stepResult, all []secret) {
	t.Helper()
	lines := strings.Split(res.stdout, "\n")
	firstOther, firstGroup := len(lines), len(lines)
	for i, l := range lines {
		if !strings.HasPrefix(l, "::add-mask::") && firstOther == len(lines) {
			firstOther = i
		}
		if strings.HasPrefix(l, "::group::") && firstGroup == len(lines) {
			firstGroup = i
		}
	}
	var kept []string
	for _, l := range lines {
		if !strings.HasPrefix(l, "::add-mask::") {
			kept = append(kept, l)
		}
	}
	unmasked := strings.Join(kept, "\n")
	for _, s := range all {
		if slices.Contains(res.passed, s.value) {
			first := slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, s.value) })
			switch {
			case first < 0:
				t.Errorf("the %s token was passed but never masked: no ::add-mask:: on stdout", s.label)
			case lines[first] != "::add-mask::"+s.value:
				t.Errorf("stdout line %d mentions the %s token before any ::add-mask:: of it", first+1, s.label)
			case first > firstGroup:
				t.Errorf("the %s token is masked on stdout line %d, after the first ::group:: (line %d)", s.label, first+1, firstGroup+1)
			case first > firstOther:
				t.Errorf("the %s token is masked on stdout line %d, after other output (line %d: %q)", s.label, first+1, firstOther+1, lines[firstOther])
			}
		}
		for where, text := range map[string]string{
			"stdout (::add-mask:: lines aside)": unmasked,
			"stderr":                            res.stderr,
			"GITHUB_OUTPUT":                     res.outputFile,
			"the job summary":                   res.summary,
		} {
			if strings.Contains(text, s.value) {
				t.Errorf("the %s token appears in %s", s.label, where)
			}
		}
	}
}

// checkNoSecretInFiles: nothing under dir (the site, the Pages artifact, a
// clone of the branch) holds a token; all of it is published.
func checkNoSecretInFiles(t *testing.T, dir string, all []secret) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, s := range all {
			if strings.Contains(string(data), s.value) {
				t.Errorf("%s holds the %s token", p, s.label)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// checkOutputNames: a successful step writes exactly the outputs of action.yml.
func checkOutputNames(t *testing.T, outputs map[string]string) {
	t.Helper()
	var got []string
	for k := range outputs {
		got = append(got, k)
	}
	want := names(loadAction(t).Outputs)
	slices.Sort(got)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outputs written differ from the outputs of action.yml (-action.yml +written):\n%s", diff)
	}
}

func checkOutputs(t *testing.T, got map[string]string, want map[string]string) {
	t.Helper()
	for k, w := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("output %s is missing, want %q", k, w)
		} else if g != w {
			t.Errorf("output %s = %q, want %q", k, g, w)
		}
	}
}

// errorLines are the ::error workflow commands of stdout.
func errorLines(stdout string) []string {
	var out []string
	for _, l := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(l, "::error") {
			out = append(out, l)
		}
	}
	return out
}

// workflowCommands are the lines the runner would take as workflow commands.
func workflowCommands(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(strings.TrimLeft(l, " \t"), "::") {
			out = append(out, l)
		}
	}
	return out
}

// fakes are the services of one scenario: a private cache (token A) and a
// repository (token B).
type fakes struct {
	cachix      *fakecachix.Server
	github      *fakegithub.Server
	cachixToken secret
	githubToken secret
}

func startFakes(t *testing.T) *fakes {
	t.Helper()
	f := &fakes{cachixToken: newSecret(t, "cachix"), githubToken: newSecret(t, "github")}
	pins, err := cachix.ReadPinsFile(filepath.Join(root, "examples", "pins.json"))
	if err != nil {
		t.Fatal(err)
	}
	f.cachix = fakecachix.Start(t, fakecachix.Options{
		Token:  f.cachixToken.value,
		Caches: []fakecachix.Cache{{Name: cacheName, Pins: pins, PublicSigningKeys: []string{cacheName + "-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY="}}},
	})
	f.github = fakegithub.New(t, fakegithub.Options{Owner: owner, Repo: repoName, Token: f.githubToken.value, ReadOnlyToken: "read-only-" + f.githubToken.value})
	return f
}

func (f *fakes) runner(t *testing.T) *runner {
	t.Helper()
	return newRunner(t, f.github.APIURL(), f.githubToken.value)
}

// with is what a workflow sets: the cache, its token and, for the fake, the
// Cachix URL.
func (f *fakes) with(extra map[string]string) map[string]string {
	w := map[string]string{
		"cache":      cacheName,
		"auth-token": f.cachixToken.value,
		"cachix-url": f.cachix.URL(),
		// The fake's cache holds no narinfo files: verification has tests
		// of its own (pkg/cli, test/e2e).
		"verify": "off",
	}
	for k, v := range extra {
		w[k] = v
	}
	return w
}

func (f *fakes) secrets() []secret { return []secret{f.cachixToken, f.githubToken} }

// logStep shows a run's output when the test fails.
func logStep(t *testing.T, what string, res stepResult) {
	t.Helper()
	if t.Failed() {
		t.Logf("%s: exit %d\nstdout:\n%s\nstderr:\n%s\nGITHUB_OUTPUT:\n%s", what, res.code, res.stdout, res.stderr, res.outputFile)
	}
}

func gitCmd(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestRunnerBranchMode(t *testing.T) {
	f := startFakes(t)
	r := f.runner(t)
	with := f.with(map[string]string{"mode": "branch"})

	first := r.run(with)
	defer logStep(t, "first run", first)
	if first.code != 0 {
		t.Fatalf("exit code %d, want 0", first.code)
	}
	checkMasking(t, first, f.secrets())
	checkOutputNames(t, first.outputs)
	head := gitCmd(t, "-C", f.github.GitDir, "rev-parse", "refs/heads/pins")
	checkOutputs(t, first.outputs, map[string]string{
		"pins":          "7",
		"systems":       exampleSystems,
		"changed":       "true",
		"commit-sha":    head,
		"site-dir":      "_site",
		"url":           "",
		"artifact-path": "",
	})
	if ref := first.outputs["flake-ref"]; !strings.HasPrefix(ref, "github:"+owner+"/"+repoName+"/pins") {
		t.Errorf("output flake-ref = %q, want github:%s/%s/pins…", ref, owner, repoName)
	}
	for _, n := range exampleNames {
		if !strings.Contains(first.summary, "<code>"+n+"</code>") {
			t.Errorf("the job summary's table lacks <code>%s</code>", n)
		}
	}
	if !strings.Contains(first.summary, "nix run ") {
		t.Errorf("the job summary shows no nix run command:\n%s", first.summary)
	}
	if _, err := os.Stat(filepath.Join(r.workspace, "_site", "pins")); err != nil {
		t.Errorf("the site is not in the workspace: %v", err)
	}

	clone := filepath.Join(t.TempDir(), "clone")
	gitCmd(t, "clone", "--quiet", "--branch", "pins", f.github.GitDir, clone)
	for _, file := range []string{"flake.nix", "default.nix", "README.md", ".create-pin-refs"} {
		if _, err := os.Stat(filepath.Join(clone, file)); err != nil {
			t.Errorf("branch pins: %v", err)
		}
	}
	checkNoSecretInFiles(t, clone, f.secrets())
	checkNoSecretInFiles(t, r.workspace, f.secrets())

	// The same pins again: nothing to commit, and nothing written to find out.
	_, writesBefore := f.github.Counts()
	again := r.run(with)
	defer logStep(t, "second run", again)
	if again.code != 0 {
		t.Fatalf("second run: exit code %d, want 0", again.code)
	}
	checkMasking(t, again, f.secrets())
	checkOutputs(t, again.outputs, map[string]string{"changed": "false", "commit-sha": head, "pins": "7"})
	if _, writes := f.github.Counts(); writes != writesBefore {
		var w []string
		for _, req := range f.github.Requests() {
			if req.Write {
				w = append(w, req.Method+" "+req.Path)
			}
		}
		t.Errorf("second run with the same pins made %d write requests (all writes so far: %q)", writes-writesBefore, w)
	}
	if now := gitCmd(t, "-C", f.github.GitDir, "rev-parse", "refs/heads/pins"); now != head {
		t.Errorf("branch pins moved from %s to %s on a run with the same pins", head, now)
	}
}

func TestRunnerPagesMode(t *testing.T) {
	f := startFakes(t)
	r := f.runner(t)
	res := r.run(f.with(nil)) // mode: the action's default, pages
	defer logStep(t, "pages run", res)
	if res.code != 0 {
		t.Fatalf("exit code %d, want 0", res.code)
	}
	checkMasking(t, res, f.secrets())
	checkOutputNames(t, res.outputs)
	checkOutputs(t, res.outputs, map[string]string{
		"pins":       "7",
		"systems":    exampleSystems,
		"url":        "https://" + owner + ".github.io/" + repoName + "/pins",
		"site-dir":   "_site",
		"flake-ref":  "",
		"commit-sha": "",
	})
	// A first publish looks for the earlier site where the URL says, and
	// goes on without it.
	if host := owner + ".github.io:443"; !r.offsite.asked(host) {
		t.Errorf("the run did not look for the live site at %s", host)
	}
	art := res.outputs["artifact-path"]
	switch {
	case art == "":
		t.Error("output artifact-path is empty")
	case filepath.IsAbs(art) || art == ".." || strings.HasPrefix(art, "../"):
		t.Errorf("output artifact-path = %q, want a path relative to the workspace, inside it", art)
	default:
		if st, err := os.Stat(filepath.Join(r.workspace, art)); err != nil || !st.Mode().IsRegular() {
			t.Errorf("artifact-path %q is not a file in the workspace: %v", art, err)
		} else if _, err := exec.LookPath("tar"); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
			defer cancel()
			out, err := exec.CommandContext(ctx, "tar", "-tf", filepath.Join(r.workspace, art)).CombinedOutput()
			if err != nil {
				t.Fatalf("tar -tf %s: %v\n%s", art, err, out)
			}
			entries := strings.Split(strings.TrimSpace(string(out)), "\n")
			for _, want := range []string{"./pins", "./index.html"} {
				if !slices.Contains(entries, want) {
					t.Errorf("the Pages artifact lacks %s; it holds %q", want, entries)
				}
			}
		}
	}
	for _, n := range exampleNames {
		if !strings.Contains(res.summary, "<code>"+n+"</code>") {
			t.Errorf("the job summary's table lacks <code>%s</code>", n)
		}
	}
	if reqs := f.github.Requests(); len(reqs) != 0 {
		t.Errorf("pages mode made %d requests to GitHub, want none: %+v", len(reqs), reqs)
	}
	checkNoSecretInFiles(t, r.workspace, f.secrets())
}

func TestRunnerCachixTokenRefused(t *testing.T) {
	f := startFakes(t)
	r := f.runner(t)
	ok := r.run(f.with(map[string]string{"mode": "branch"}))
	defer logStep(t, "first run", ok)
	if ok.code != 0 {
		t.Fatalf("first run: exit code %d, want 0", ok.code)
	}
	site := filepath.Join(r.workspace, "_site")
	before := snapshot(t, site)

	wrong := newSecret(t, "wrong-cachix")
	all := append(f.secrets(), wrong)
	_, writesBefore := f.github.Counts()
	res := r.run(f.with(map[string]string{"mode": "branch", "auth-token": wrong.value}))
	defer logStep(t, "run with a wrong token", res)
	if res.code != 1 {
		t.Errorf("exit code %d, want 1", res.code)
	}
	checkMasking(t, res, all)
	errs := errorLines(res.stdout)
	if !slices.ContainsFunc(errs, func(l string) bool {
		return strings.Contains(l, "CACHIX_AUTH_TOKEN") || strings.Contains(l, "auth token")
	}) {
		t.Errorf("no ::error line names the auth token or CACHIX_AUTH_TOKEN: %q", errs)
	}
	for _, k := range []string{"changed", "commit-sha"} {
		if v, ok := res.outputs[k]; ok {
			t.Errorf("a failed step set output %s = %q", k, v)
		}
	}
	if diff := cmp.Diff(before, snapshot(t, site)); diff != "" {
		t.Errorf("the failed step changed the previous site (-before +after):\n%s", diff)
	}
	if _, writes := f.github.Counts(); writes != writesBefore {
		t.Errorf("the failed step made %d write requests to GitHub", writes-writesBefore)
	}
}

func TestRunnerUsageError(t *testing.T) {
	f := startFakes(t)
	r := f.runner(t)
	res := r.run(f.with(map[string]string{"mode": "bogus"}))
	defer logStep(t, "run", res)
	if res.code != 2 {
		t.Errorf("exit code %d, want 2", res.code)
	}
	checkMasking(t, res, f.secrets())
	errs := errorLines(res.stdout)
	if !slices.ContainsFunc(errs, func(l string) bool { return strings.Contains(l, "--mode") }) {
		t.Errorf("no ::error line names --mode: %q", errs)
	}
	if len(res.outputs) != 0 {
		t.Errorf("a step refused for its inputs set outputs %q", res.outputs)
	}
	if reqs := f.cachix.Requests(); len(reqs) != 0 {
		t.Errorf("a step refused for its inputs called Cachix: %q", reqs)
	}
}

// TestRunnerOutputsCannotBeForged: an input value that holds a newline and the
// heredoc delimiter of GITHUB_OUTPUT (learnt from an earlier run) cannot add or
// replace outputs. The program refuses a path holding a control character
// (exit 2, naming --out) before writing anything: no log line or output could
// show it faithfully. The outputs file itself is safe either way (random
// delimiters, see pkg/actions), so the runner must read back no output at all.
func TestRunnerOutputsCannotBeForged(t *testing.T) {
	f := startFakes(t)
	r := f.runner(t)
	first := r.run(f.with(nil))
	defer logStep(t, "first run", first)
	if first.code != 0 {
		t.Fatalf("first run: exit code %d, want 0", first.code)
	}
	_, delim, ok := strings.Cut(strings.SplitN(first.outputFile, "\n", 2)[0], "<<")
	if !ok {
		t.Fatalf("GITHUB_OUTPUT has no heredoc to learn a delimiter from:\n%s", first.outputFile)
	}
	out := "x\n" + delim + "\nchanged<<" + delim + "\nforged"
	res := r.run(f.with(map[string]string{"out": out}))
	defer logStep(t, "run with a hostile out", res)
	checkMasking(t, res, f.secrets())
	if res.code != 2 {
		t.Errorf("exit code %d, want 2 (a path with a line break refused)", res.code)
	}
	if errs := errorLines(res.stdout); !slices.ContainsFunc(errs, func(l string) bool { return strings.Contains(l, "--out") }) {
		t.Errorf("no ::error line names --out: %q", errs)
	}
	if len(res.outputs) != 0 {
		t.Errorf("a refused step set outputs %q", res.outputs)
	}
	if _, err := os.Stat(filepath.Join(r.workspace, "x")); err == nil {
		t.Error("the refused step wrote into the workspace")
	}
}

// TestOutsideActions: the same binary in a terminal or another CI speaks no
// workflow command and touches no runner file.
func TestOutsideActions(t *testing.T) {
	f := startFakes(t)
	bin := buildLikeImage(t)
	ws, home := t.TempDir(), t.TempDir()
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"CI=true",
		"CACHIX_AUTH_TOKEN=" + f.cachixToken.value,
	}
	res := execute(t, bin, []string{"--cache", cacheName, "--cachix-url", f.cachix.URL(), "--mode", "dir", "--out", "site", "--verify", "off"}, ws, env)
	res.passed = secretsIn(env)
	defer logStep(t, "run outside Actions", res)
	if res.code != 0 {
		t.Fatalf("exit code %d, want 0", res.code)
	}
	for where, text := range map[string]string{"stdout": res.stdout, "stderr": res.stderr} {
		if cmds := workflowCommands(text); len(cmds) > 0 {
			t.Errorf("%s holds workflow commands outside Actions: %q", where, cmds)
		}
		for _, s := range f.secrets() {
			if strings.Contains(text, s.value) {
				t.Errorf("%s holds the %s token", where, s.label)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(ws, "site", "pins")); err != nil {
		t.Errorf("the site was not written: %v", err)
	}
	checkNoSecretInFiles(t, ws, f.secrets())
}

// fileState is what a snapshot keeps of a file.
type fileState struct {
	Mode    fs.FileMode
	ModTime time.Time
	Data    string
}

func snapshot(t *testing.T, dir string) map[string]fileState {
	t.Helper()
	out := map[string]fileState{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st := fileState{Mode: info.Mode(), ModTime: info.ModTime()}
		if d.Type().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			st.Data = string(data)
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = st
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 2 {
		t.Fatalf("%s holds no site", dir)
	}
	return out
}
