package action_test

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v4"

	"github.com/kwbauson/create-pin-refs/pkg/config"
)

// root is the repository's root as seen from this package's folder.
const root = "../.."

const (
	modulePath = "github.com/kwbauson/create-pin-refs"
	// imagePrefix is how action.yml must name its prebuilt image.
	imagePrefix = "docker://ghcr.io/kwbauson/create-pin-refs:"
	// actionRepo is how workflows outside this repository use the action.
	actionRepo = "kwbauson/create-pin-refs"
)

// defaultExceptions are the inputs whose default in action.yml is not the
// program's default, with the reason.
var defaultExceptions = map[string]string{
	// The action is there to publish; the command line's default, dir, only
	// writes files.
	"mode": "pages",
	// Branch mode needs a token, and inside Actions the job's own is the one to use.
	"github-token": "${{ github.token }}",
	// A literal default would always be passed as INPUT_GITHUB-API-URL and so hide
	// GITHUB_API_URL, which names the server running the workflow (GitHub
	// Enterprise Server included).
	"github-api-url": "${{ github.api_url }}",
}

// wantOutputs are the outputs the program writes (pkg/cli Result.Outputs).
var wantOutputs = []string{"pins", "systems", "url", "flake-ref", "commit-sha", "changed", "site-dir", "artifact-path"}

// entry is one input or output of action.yml, in file order.
type entry struct {
	Name        string
	Description string
	Required    bool
	Default     string
	HasDefault  bool
}

type action struct {
	Name        string
	Description string
	Author      string
	Branding    struct{ Icon, Color string }
	Inputs      []entry
	Outputs     []entry
	Runs        struct {
		Using      string
		Image      string
		Entrypoint string
		Args       []string
	}
}

// loadAction parses action.yml, keeping the order of inputs and outputs and
// refusing keys that GitHub does not know.
func loadAction(t *testing.T) *action {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Name        string
		Description string
		Author      string
		Branding    struct{ Icon, Color string }
		Inputs      yaml.Node
		Outputs     yaml.Node
		Runs        struct {
			Using      string
			Image      string
			Entrypoint string
			Args       []string
		}
	}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	a := &action{Name: raw.Name, Description: raw.Description, Author: raw.Author, Branding: raw.Branding, Runs: raw.Runs}
	a.Inputs = entries(t, "inputs", &raw.Inputs, []string{"description", "required", "default", "deprecationMessage"})
	a.Outputs = entries(t, "outputs", &raw.Outputs, []string{"description"})
	return a
}

func entries(t *testing.T, section string, n *yaml.Node, keys []string) []entry {
	t.Helper()
	if n.Kind != yaml.MappingNode {
		t.Fatalf("action.yml: %s is not a mapping", section)
	}
	var out []entry
	for i := 0; i+1 < len(n.Content); i += 2 {
		e := entry{Name: n.Content[i].Value}
		v := n.Content[i+1]
		if v.Kind != yaml.MappingNode {
			t.Errorf("action.yml: %s.%s is not a mapping", section, e.Name)
			continue
		}
		for j := 0; j+1 < len(v.Content); j += 2 {
			k, val := v.Content[j].Value, v.Content[j+1]
			if !slices.Contains(keys, k) {
				t.Errorf("action.yml: %s.%s: unknown key %q", section, e.Name, k)
				continue
			}
			if val.Kind != yaml.ScalarNode {
				t.Errorf("action.yml: %s.%s.%s is not a scalar", section, e.Name, k)
				continue
			}
			switch k {
			case "description":
				e.Description = val.Value
			case "required":
				e.Required = val.Value == "true"
			case "default":
				e.Default, e.HasDefault = val.Value, true
			}
		}
		out = append(out, e)
	}
	return out
}

func names(es []entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Name)
	}
	return out
}

func TestActionMetadata(t *testing.T) {
	a := loadAction(t)
	if a.Name != "Create pin refs" {
		t.Errorf("name = %q, want %q", a.Name, "Create pin refs")
	}
	if a.Author != "kwbauson" {
		t.Errorf("author = %q, want kwbauson", a.Author)
	}
	if strings.TrimSpace(a.Description) == "" {
		t.Error("the action has no description")
	}
	if a.Branding.Icon == "" || a.Branding.Color == "" {
		t.Errorf("branding = %+v, want an icon and a color", a.Branding)
	}
}

// TestInputsAreTheOptions: the inputs are exactly the program's options, in the
// same order, and each documents itself and has the program's default.
func TestInputsAreTheOptions(t *testing.T) {
	a := loadAction(t)
	opts := config.Options()
	var want []string
	for _, o := range opts {
		want = append(want, o.Name)
	}
	if diff := cmp.Diff(want, names(a.Inputs)); diff != "" {
		t.Errorf("inputs of action.yml differ from config.Options() (-options +inputs):\n%s", diff)
	}

	inputs := map[string]entry{}
	for _, in := range a.Inputs {
		inputs[in.Name] = in
	}
	for _, o := range opts {
		in, ok := inputs[o.Name]
		if !ok {
			continue // reported above
		}
		if strings.TrimSpace(in.Description) == "" {
			t.Errorf("input %s has no description", o.Name)
		}
		if want := o.Name == "cache"; in.Required != want {
			t.Errorf("input %s: required = %v, want %v", o.Name, in.Required, want)
		}
		want, exception := defaultExceptions[o.Name]
		if !exception {
			want = o.Default
		}
		if in.Default != want {
			t.Errorf("input %s: default %q, want %q", o.Name, in.Default, want)
		}
		// An input is always passed, so a literal default would hide the
		// environment variable the program falls back to.
		if o.Env != "" && in.Default != "" && !strings.HasPrefix(in.Default, "${{") {
			t.Errorf("input %s: the literal default %q would hide %s", o.Name, in.Default, o.Env)
		}
		if o.Bool && in.Default != "true" && in.Default != "false" {
			t.Errorf("input %s is a switch; its default %q is not true or false", o.Name, in.Default)
		}
	}
	for name := range defaultExceptions {
		if _, ok := inputs[name]; !ok {
			t.Errorf("defaultExceptions names %s, which is no input", name)
		}
	}
	if d := inputs["auth-token"].Description; !strings.Contains(d, "${{ secrets.CACHIX_AUTH_TOKEN }}") {
		t.Errorf("the description of auth-token does not say to pass ${{ secrets.CACHIX_AUTH_TOKEN }}: %q", d)
	}
}

func TestOutputs(t *testing.T) {
	a := loadAction(t)
	if diff := cmp.Diff(wantOutputs, names(a.Outputs)); diff != "" {
		t.Errorf("outputs of action.yml (-want +got):\n%s", diff)
	}
	for _, o := range a.Outputs {
		if strings.TrimSpace(o.Description) == "" {
			t.Errorf("output %s has no description", o.Name)
		}
	}
}

func TestRunsThePrebuiltImage(t *testing.T) {
	a := loadAction(t)
	if a.Runs.Using != "docker" {
		t.Errorf("runs.using = %q, want docker", a.Runs.Using)
	}
	if !strings.HasPrefix(a.Runs.Image, imagePrefix) || len(a.Runs.Image) == len(imagePrefix) {
		t.Errorf("runs.image = %q, want %sTAG (a prebuilt image starts in seconds)", a.Runs.Image, imagePrefix)
	}
	if a.Runs.Entrypoint != "" || len(a.Runs.Args) != 0 {
		t.Errorf("runs has entrypoint %q, args %q: the image's entrypoint reads the inputs itself", a.Runs.Entrypoint, a.Runs.Args)
	}
	// integration.yml rewrites the image line with sed to build the working tree.
	data, err := os.ReadFile(filepath.Join(root, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(regexp.MustCompile(`(?m)^\s*image:`).FindAll(data, -1)); n != 1 {
		t.Errorf("action.yml has %d lines with the key image, want 1 (integration.yml rewrites it)", n)
	}
}

// imageMajor is the tag of action.yml's image, e.g. "v1".
func imageMajor(t *testing.T) string {
	t.Helper()
	return strings.TrimPrefix(loadAction(t).Runs.Image, imagePrefix)
}

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	Cmd  string // upper case
	Args string
}

func loadDockerfile(t *testing.T) []instruction {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var cur strings.Builder
	for _, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			continue
		}
		if cont, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur.WriteString(cont + " ")
			continue
		}
		cur.WriteString(trimmed)
		logical := strings.TrimSpace(cur.String())
		cur.Reset()
		if logical == "" {
			continue
		}
		cmd, args, _ := strings.Cut(logical, " ")
		out = append(out, instruction{Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args)})
	}
	return out
}

// goBuild is the Dockerfile's `go build` command.
type goBuild struct {
	Env  []string // NAME=VALUE before the command
	Args []string // flags, without -o and the package
	Pkg  string
}

func dockerGoBuild(t *testing.T, ins []instruction) goBuild {
	t.Helper()
	var found []goBuild
	for _, in := range ins {
		if in.Cmd != "RUN" || !strings.Contains(in.Args, "go build") {
			continue
		}
		words, err := shellWords(in.Args)
		if err != nil {
			t.Fatalf("Dockerfile: RUN %s: %v", in.Args, err)
		}
		var b goBuild
		i := 0
		for ; i < len(words) && regexp.MustCompile(`^[A-Z_][A-Z0-9_]*=`).MatchString(words[i]); i++ {
			b.Env = append(b.Env, words[i])
		}
		if i+1 >= len(words) || words[i] != "go" || words[i+1] != "build" {
			t.Fatalf("Dockerfile: RUN %s: want [NAME=VALUE…] go build FLAGS -o OUT PKG alone", in.Args)
		}
		rest := words[i+2:]
		for j := 0; j < len(rest); j++ {
			switch {
			case rest[j] == "-o" && j+1 < len(rest):
				j++
			case j == len(rest)-1 && !strings.HasPrefix(rest[j], "-"):
				b.Pkg = rest[j]
			default:
				b.Args = append(b.Args, rest[j])
			}
		}
		found = append(found, b)
	}
	if len(found) != 1 {
		t.Fatalf("Dockerfile has %d RUN … go build instructions, want 1", len(found))
	}
	return found[0]
}

// shellWords splits a command line as sh does for the simple cases a Dockerfile
// uses: blanks separate words, quotes group them.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '"' || c == '\'':
			end := strings.IndexByte(s[i+1:], c)
			if end < 0 {
				return nil, errors.New("unterminated quote")
			}
			cur.WriteString(s[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case c == ';' || c == '&' || c == '|' || c == '`' || c == '\\':
			return nil, errors.New("more than one simple command")
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// TestDockerfile checks what a container action and a small, reproducible image
// need.
func TestDockerfile(t *testing.T) {
	ins := loadDockerfile(t)
	var from []string
	var entrypoint string
	for _, in := range ins {
		switch in.Cmd {
		case "USER":
			t.Errorf("Dockerfile: USER %s: GitHub runs container actions as root, so the image must not set a user", in.Args)
		case "FROM":
			from = append(from, in.Args)
		case "ENTRYPOINT":
			entrypoint = in.Args
		}
	}
	if len(from) < 2 {
		t.Errorf("Dockerfile has %d stages, want a builder and a final stage", len(from))
	} else if final := from[len(from)-1]; !strings.HasPrefix(final, "gcr.io/distroless/static") && final != "scratch" {
		t.Errorf("final stage FROM %s, want distroless/static or scratch", final)
	}
	if entrypoint != `["/create-pin-refs"]` {
		t.Errorf("ENTRYPOINT %s, want [\"/create-pin-refs\"]", entrypoint)
	}

	b := dockerGoBuild(t, ins)
	if !slices.Contains(b.Env, "CGO_ENABLED=0") {
		t.Errorf("go build runs with %q, want CGO_ENABLED=0 (a static binary)", b.Env)
	}
	if !slices.Contains(b.Args, "-trimpath") {
		t.Errorf("go build %q: want -trimpath", b.Args)
	}
	// The context has no .git: --version says what these stamp.
	for _, x := range []string{"-X main.version=${VERSION}", "-X main.revision=${REVISION}"} {
		if ld := ldflags(b.Args); !strings.Contains(ld, x) {
			t.Errorf("go build -ldflags %q: want %s", ld, x)
		}
	}
	if b.Pkg != "." {
		t.Errorf("go build builds %q, want the main package .", b.Pkg)
	}
}

func ldflags(args []string) string {
	for i, a := range args {
		if a == "-ldflags" && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, "-ldflags="); ok {
			return v
		}
	}
	return ""
}

// TestBinaryBuiltLikeTheImage builds the program with the Dockerfile's own flags
// and checks that it starts and lists every option.
func TestBinaryBuiltLikeTheImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the program")
	}
	b := dockerGoBuild(t, loadDockerfile(t))
	bin := buildLikeImage(t)

	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	// Go leaves -ldflags out of the build information under -trimpath; its
	// effects are checked below.
	for k, want := range map[string]string{"CGO_ENABLED": "0", "-trimpath": "true"} {
		if settings[k] != want {
			t.Errorf("the binary was built with %s=%q, want %q", k, settings[k], want)
		}
	}
	if ld := ldflags(b.Args); strings.Contains(ld, "-s") && runtime.GOOS == "linux" {
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Symbols(); !errors.Is(err, elf.ErrNoSymbols) {
			t.Errorf("the binary has a symbol table (%v), but -ldflags %q strips it", err, ld)
		}
		f.Close()
	}

	help := exec.Command(bin, "--help")
	help.Env = []string{} // nothing from Actions: plain usage on stderr
	var out bytes.Buffer
	help.Stdout, help.Stderr = &out, &out
	if err := help.Run(); err != nil {
		t.Fatalf("create-pin-refs --help: %v\n%s", err, out.String())
	}
	for _, o := range config.Options() {
		if !regexp.MustCompile(`(?m)^\s+--?` + regexp.QuoteMeta(o.Name) + `(\s|$)`).Match(out.Bytes()) {
			t.Errorf("--help does not list --%s:\n%s", o.Name, out.String())
		}
	}

	// -X main.version and main.revision: what --version says.
	ver := exec.Command(bin, "--version")
	ver.Env = []string{}
	if out, err := ver.Output(); err != nil {
		t.Errorf("create-pin-refs --version: %v", err)
	} else if want := "create-pin-refs test (rev " + testRevision[:12] + ", " + runtime.Version() + ")\n"; string(out) != want {
		t.Errorf("create-pin-refs --version = %q, want %q", out, want)
	}

	// -X main.version: the version names the program to Cachix.
	agents := make(chan string, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case agents <- r.UserAgent():
		default:
		}
		http.Error(w, "no such cache", http.StatusNotFound)
	}))
	defer srv.Close()
	run := exec.Command(bin, "--cache", "nosuchcache", "--cachix-url", srv.URL, "--out", filepath.Join(t.TempDir(), "site"))
	run.Env = []string{}
	if out, err := run.CombinedOutput(); err == nil {
		t.Errorf("create-pin-refs succeeded against a Cachix that knows no cache:\n%s", out)
	}
	select {
	case ua := <-agents:
		if !strings.Contains(ua, "create-pin-refs/test") {
			t.Errorf("User-Agent %q: want create-pin-refs/test, the version given by -X main.version", ua)
		}
	default:
		t.Error("create-pin-refs made no request to Cachix")
	}
}

// built is the program built once per test binary by buildLikeImage.
var built struct {
	once sync.Once
	dir  string // removed by TestMain
	bin  string
	err  error
}

// testRevision is the commit buildLikeImage stamps, as the release does.
const testRevision = "0123456789abcdef0123456789abcdef01234567"

// buildLikeImage builds the program with the Dockerfile's own `go build` flags
// (version "test", revision testRevision), once per test binary, and returns
// the binary's path.
func buildLikeImage(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the program")
	}
	b := dockerGoBuild(t, loadDockerfile(t))
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "create-pin-refs-build-")
		if built.err != nil {
			return
		}
		bin := filepath.Join(built.dir, "create-pin-refs")
		args := []string{"build"}
		for _, a := range b.Args {
			args = append(args, strings.NewReplacer("${VERSION}", "test", "${REVISION}", testRevision).Replace(a))
		}
		args = append(args, "-o", bin, b.Pkg)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = root
		cmd.Env = os.Environ()
		for _, e := range b.Env {
			// GOOS=$TARGETOS and the like name the image's platform, not this one.
			if !strings.Contains(e, "$") {
				cmd.Env = append(cmd.Env, e)
			}
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
			return
		}
		built.bin = bin
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// TestDockerignoreKeepsTheBuildInputs: every file the binary is built from gets
// into the build context and is copied by the Dockerfile; tests, examples and
// the like stay out.
func TestDockerignoreKeepsTheBuildInputs(t *testing.T) {
	rules := loadDockerignore(t)
	var copies []string
	for _, in := range loadDockerfile(t) {
		if in.Cmd != "COPY" || strings.Contains(in.Args, "--from") {
			continue
		}
		words := strings.Fields(in.Args)
		for _, w := range words[:len(words)-1] {
			copies = append(copies, path.Clean(w))
		}
	}

	needed := []string{"go.mod", "go.sum"}
	cmd := exec.Command("go", "list", "-deps", "-json", ".")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath string
			Dir        string
			Module     *struct{ Path string }
			GoFiles    []string
			CgoFiles   []string
			EmbedFiles []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if p.Module == nil || p.Module.Path != modulePath {
			continue
		}
		rel, err := filepath.Rel(abs, p.Dir)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(filepath.ToSlash(rel), "test/") {
			t.Errorf("the program imports %s: test/ packages are not in the image", p.ImportPath)
		}
		for _, f := range slices.Concat(p.GoFiles, p.CgoFiles, p.EmbedFiles) {
			needed = append(needed, path.Join(filepath.ToSlash(rel), f))
		}
	}
	if len(needed) < 4 {
		t.Fatalf("go list found only %q", needed)
	}
	for _, f := range needed {
		if rules.excluded(f) {
			t.Errorf(".dockerignore leaves out %s, which the binary is built from", f)
		}
		if !slices.ContainsFunc(copies, func(c string) bool { return c == f || c == "." || strings.HasPrefix(f, c+"/") }) {
			t.Errorf("the Dockerfile copies none of %q: %s is missing from the build", copies, f)
		}
	}

	for _, f := range []string{".git/HEAD", "_site/pins", "action.yml", "README.md"} {
		if !rules.excluded(f) {
			t.Errorf(".dockerignore lets %s into the build context", f)
		}
	}
	// Every test, example and benchmark in the repository stays out.
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		top, _, _ := strings.Cut(rel, "/")
		out := strings.HasSuffix(rel, "_test.go") || strings.Contains("/"+rel, "/testdata/") ||
			slices.Contains([]string{"test", "bench", "examples", ".github", ".ci"}, top)
		if out && !rules.excluded(rel) {
			t.Errorf(".dockerignore lets %s into the build context", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// ignoreRules are .dockerignore's patterns, matched as Docker does: the last
// pattern that matches a path or one of its parent folders decides.
type ignoreRules []struct {
	re     *regexp.Regexp
	negate bool
}

func loadDockerignore(t *testing.T) ignoreRules {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var rules ignoreRules
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		negate := strings.HasPrefix(line, "!")
		pattern := strings.TrimPrefix(path.Clean("/"+strings.TrimPrefix(line, "!")), "/")
		var re strings.Builder
		re.WriteString("^")
		for i := 0; i < len(pattern); i++ {
			switch {
			case strings.HasPrefix(pattern[i:], "**/"):
				re.WriteString("(.*/)?")
				i += 2
			case strings.HasPrefix(pattern[i:], "**"):
				re.WriteString(".*")
				i++
			case pattern[i] == '*':
				re.WriteString("[^/]*")
			case pattern[i] == '?':
				re.WriteString("[^/]")
			default:
				re.WriteString(regexp.QuoteMeta(pattern[i : i+1]))
			}
		}
		re.WriteString("$")
		rules = append(rules, struct {
			re     *regexp.Regexp
			negate bool
		}{regexp.MustCompile(re.String()), negate})
	}
	return rules
}

func (rules ignoreRules) excluded(file string) bool {
	var prefixes []string
	for p := file; p != "." && p != "/"; p = path.Dir(p) {
		prefixes = append(prefixes, p)
	}
	excluded := false
	for _, r := range rules {
		if slices.ContainsFunc(prefixes, r.re.MatchString) {
			excluded = !r.negate
		}
	}
	return excluded
}

// TestWorkflowsUseTheAction checks every step that runs the action, in this
// repository's workflows and in the examples users copy: it passes only inputs
// the action has, always the cache, and the examples use the major version whose
// image action.yml names.
func TestWorkflowsUseTheAction(t *testing.T) {
	a := loadAction(t)
	inputs := names(a.Inputs)
	major := imageMajor(t)
	uses := 0
	for _, f := range workflowFiles(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var wf struct {
			Permissions any
			Jobs        map[string]struct {
				Steps []struct {
					ID   string
					Uses string
					With map[string]any
				}
			}
		}
		if err := yaml.Unmarshal(data, &wf); err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if wf.Permissions == nil {
			t.Errorf("%s sets no top-level permissions (least privilege: set them, if only to {} or contents: read)", f)
		}
		isExample := strings.Contains(filepath.ToSlash(f), "examples/")
		for job, j := range wf.Jobs {
			for _, s := range j.Steps {
				ref, local := s.Uses, s.Uses == "./"
				repo, version, _ := strings.Cut(ref, "@")
				if !local && repo != actionRepo {
					continue
				}
				uses++
				where := f + ": job " + job + ": " + ref
				if isExample && version != major {
					t.Errorf("%s: examples should use @%s, the major version of action.yml's image", where, major)
				}
				if _, ok := s.With["cache"]; !ok {
					t.Errorf("%s: no cache input", where)
				}
				for k := range s.With {
					if !slices.Contains(inputs, k) {
						t.Errorf("%s: with %s, which is no input of the action", where, k)
					}
				}
			}
		}
	}
	if uses == 0 {
		t.Error("no workflow runs the action")
	}
}
