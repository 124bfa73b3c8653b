package fakegithub

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// gitRepo runs the git program on one bare repository. Every object the fake
// stores or reads goes through git itself, so ids, formats and ancestry are
// git's, not a model of them.
type gitRepo struct {
	dir string
	env []string

	mu    sync.Mutex
	types map[string]string // object types already read: they never change
}

// gitError is git running and exiting non-zero.
type gitError struct {
	cmd    string
	code   int
	stderr string
}

func (e *gitError) Error() string {
	return fmt.Sprintf("git %s: exit status %d: %s", e.cmd, e.code, e.stderr)
}

// exitCode is git's exit status in err, or -1 if err is not git exiting.
func exitCode(err error) int {
	var ge *gitError
	if errors.As(err, &ge) {
		return ge.code
	}
	return -1
}

// isSHA reports whether s is a full lower-case SHA-1 object id.
func isSHA(s string) bool {
	if len(s) != 40 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func newGitRepo(dir string) *gitRepo {
	// Keep the user's and the system's configuration (hooks, signing,
	// templates, GIT_DIR from a surrounding repo) out of the fake.
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL="+os.DevNull,
		"GIT_TERMINAL_PROMPT=0",
		"LC_ALL=C",
	)
	return &gitRepo{dir: dir, env: env}
}

// run runs `git --git-dir=DIR args...` with stdin and returns its stdout.
func (g *gitRepo) run(ctx context.Context, stdin []byte, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"--git-dir=" + g.dir}, args...)...)
	cmd.Env = g.env
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return stdout.Bytes(), &gitError{cmd: args[0], code: exit.ExitCode(), stderr: strings.TrimSpace(stderr.String())}
		}
		return nil, fmt.Errorf("git %s: %w", args[0], err)
	}
	return stdout.Bytes(), nil
}

func (g *gitRepo) line(ctx context.Context, stdin []byte, args ...string) (string, error) {
	out, err := g.run(ctx, stdin, args...)
	return strings.TrimSpace(string(out)), err
}

// objectType is "blob", "tree", "commit" or "tag", or "" if sha is no
// object of this repository.
func (g *gitRepo) objectType(ctx context.Context, sha string) (string, error) {
	if !isSHA(sha) {
		return "", nil
	}
	g.mu.Lock()
	t, ok := g.types[sha]
	g.mu.Unlock()
	if ok {
		return t, nil
	}
	t, err := g.line(ctx, nil, "cat-file", "-t", sha)
	if exitCode(err) > 0 {
		return "", nil
	}
	if err == nil {
		g.mu.Lock()
		if g.types == nil {
			g.types = map[string]string{}
		}
		g.types[sha] = t
		g.mu.Unlock()
	}
	return t, err
}

// knowTypes reads the types of many objects with one `git cat-file
// --batch-check`, so objectType answers them without a process each (a
// create-tree naming thousands of blobs by id). Absent objects are left
// out: objectType asks git again, as they may appear later.
func (g *gitRepo) knowTypes(ctx context.Context, shas []string) error {
	var in strings.Builder
	for _, sha := range shas {
		if isSHA(sha) {
			in.WriteString(sha + "\n")
		}
	}
	if in.Len() == 0 {
		return nil
	}
	out, err := g.run(ctx, []byte(in.String()), "cat-file", "--batch-check=%(objectname) %(objecttype)")
	if err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.types == nil {
		g.types = map[string]string{}
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if sha, typ, ok := strings.Cut(line, " "); ok && isSHA(sha) && typ != "missing" {
			g.types[sha] = typ
		}
	}
	return nil
}

// writeBlobs stores the content of each node as a blob and sets its sha,
// with one `git hash-object -w --stdin-paths`.
func (g *gitRepo) writeBlobs(ctx context.Context, nodes []*node) error {
	if len(nodes) == 0 {
		return nil
	}
	dir, err := os.MkdirTemp("", "fakegithub-blobs-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var paths strings.Builder
	for i, n := range nodes {
		p := filepath.Join(dir, strconv.Itoa(i))
		if err := os.WriteFile(p, []byte(*n.content), 0o644); err != nil {
			return err
		}
		paths.WriteString(p + "\n")
	}
	out, err := g.run(ctx, []byte(paths.String()), "hash-object", "-t", "blob", "-w", "--no-filters", "--stdin-paths")
	if err != nil {
		return err
	}
	shas := strings.Fields(string(out))
	if len(shas) != len(nodes) {
		return fmt.Errorf("git hash-object: %d ids for %d blobs", len(shas), len(nodes))
	}
	for i, n := range nodes {
		n.sha, n.content = shas[i], nil
	}
	return nil
}

// writeIndexTree writes the tree of index entries (`git update-index -z
// --index-info` input) through a new index file.
func (g *gitRepo) writeIndexTree(ctx context.Context, entries []byte) (string, error) {
	dir, err := os.MkdirTemp("", "fakegithub-index-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	ig := &gitRepo{dir: g.dir, env: append(slices.Clone(g.env), "GIT_INDEX_FILE="+filepath.Join(dir, "index"))}
	if _, err := ig.run(ctx, entries, "update-index", "-z", "--index-info"); err != nil {
		return "", err
	}
	return ig.line(ctx, nil, "write-tree", "--missing-ok")
}

// refSHA returns what ref (a full name) points to, or "" if it is absent.
func (g *gitRepo) refSHA(ctx context.Context, ref string) (string, error) {
	sha, err := g.line(ctx, nil, "show-ref", "--verify", "--hash", ref)
	if exitCode(err) > 0 {
		return "", nil
	}
	return sha, err
}

// validRef reports whether git accepts ref as a full reference name.
func (g *gitRepo) validRef(ctx context.Context, ref string) bool {
	_, err := g.run(ctx, nil, "check-ref-format", ref)
	return err == nil
}

func (g *gitRepo) isEmpty(ctx context.Context) (bool, error) {
	out, err := g.line(ctx, nil, "for-each-ref", "--count=1", "--format=%(refname)")
	return out == "", err
}

// isAncestor reports whether commit a is an ancestor of (or equal to) b:
// the real fast-forward test.
func (g *gitRepo) isAncestor(ctx context.Context, a, b string) (bool, error) {
	_, err := g.run(ctx, nil, "merge-base", "--is-ancestor", a, b)
	switch {
	case err == nil:
		return true, nil
	case exitCode(err) == 1: // "not an ancestor"; other codes are failures
		return false, nil
	default:
		return false, err
	}
}

func (g *gitRepo) writeBlob(ctx context.Context, data []byte) (string, error) {
	return g.line(ctx, data, "hash-object", "-t", "blob", "-w", "--stdin")
}

// casRef moves ref from old to sha atomically; old "" means the ref must not
// exist yet. git takes the ref's lock and checks the old value under it.
func (g *gitRepo) casRef(ctx context.Context, ref, sha, old string) error {
	if old == "" {
		old = strings.Repeat("0", 40)
	}
	_, err := g.run(ctx, nil, "update-ref", "-m", "fakegithub", ref, sha, old)
	return err
}

// lsEntry is one line of `git ls-tree -l -z`.
type lsEntry struct {
	Mode, Type, SHA, Path string
	Size                  int64 // -1 for trees and submodules
}

func (g *gitRepo) lsTree(ctx context.Context, treeish string, recursive bool) ([]lsEntry, error) {
	args := []string{"ls-tree", "-l", "-z", "--full-tree"}
	if recursive {
		args = append(args, "-r", "-t")
	}
	out, err := g.run(ctx, nil, append(args, treeish)...)
	if err != nil {
		return nil, err
	}
	var entries []lsEntry
	for _, rec := range bytes.Split(out, []byte{0}) {
		if len(rec) == 0 {
			continue
		}
		meta, path, ok := bytes.Cut(rec, []byte{'\t'})
		f := strings.Fields(string(meta))
		if !ok || len(f) != 4 {
			return nil, fmt.Errorf("git ls-tree: odd line %q", rec)
		}
		e := lsEntry{Mode: f[0], Type: f[1], SHA: f[2], Path: string(path), Size: -1}
		if f[3] != "-" {
			if _, err := fmt.Sscan(f[3], &e.Size); err != nil {
				return nil, fmt.Errorf("git ls-tree: odd size %q", f[3])
			}
		}
		entries = append(entries, e)
	}
	return entries, nil
}
