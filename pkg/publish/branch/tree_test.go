package branch

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gitEnv keeps the user's git configuration out of test runs of git.
func gitEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_") {
			env = append(env, kv)
		}
	}
	return append(env, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull, "LC_ALL=C")
}

func runGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = gitEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func needGit(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("these tests need the git program, which is not installed")
	}
}

// TestTreeIDMatchesGit checks the locally computed ids against git's own
// for names whose order differs between plain and git sorting.
func TestTreeIDMatchesGit(t *testing.T) {
	needGit(t)
	tests := []struct {
		name  string
		files []File
	}{
		{"one file", []File{{Path: "flake.nix", Data: []byte("{ }\n")}}},
		{"empty file", []File{{Path: "empty", Data: nil}}},
		{"executable", []File{{Path: "bin/run", Data: []byte("#!/bin/sh\n"), Executable: true}, {Path: "a", Data: []byte("a")}}},
		{"folder sorts as name/", []File{
			{Path: "a.b", Data: []byte("1")},
			{Path: "a/b", Data: []byte("2")},
			{Path: "a0", Data: []byte("3")},
			{Path: "a-", Data: []byte("4")},
			{Path: "ab/c/d/e.json", Data: []byte("5")},
		}},
		{"bundle", []File{
			{Path: "flake.nix", Data: []byte("{ outputs = _: { }; }\n")},
			{Path: "default.nix", Data: []byte("{ }: { }\n")},
			{Path: "data/index.json", Data: []byte(`{"a":0}`)},
			{Path: "data/shards/0.json", Data: []byte(`{"a":"/nix/store/x"}`)},
			{Path: "data/shards/10.json", Data: []byte(`{}`)},
			{Path: "data/shards/2.json", Data: []byte("caf\u00e9 \x00 binary\xff")},
			{Path: MarkerPath, Data: MarkerContent()},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			runGit(t, dir, "init", "--quiet")
			for _, f := range tt.files {
				p := filepath.Join(dir, filepath.FromSlash(f.Path))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				mode := os.FileMode(0o644)
				if f.Executable {
					mode = 0o755
				}
				if err := os.WriteFile(p, f.Data, mode); err != nil {
					t.Fatal(err)
				}
			}
			runGit(t, dir, "add", "--all")
			want := runGit(t, dir, "write-tree")
			if got := treeID(tt.files); got != want {
				t.Errorf("treeID = %s, git write-tree = %s", got, want)
			}
			for _, f := range tt.files {
				if got, want := blobID(f.Data), runGit(t, dir, "rev-parse", ":"+f.Path); got != want {
					t.Errorf("blobID(%s) = %s, git = %s", f.Path, got, want)
				}
			}
		})
	}
}

func TestCheckFiles(t *testing.T) {
	file := func(paths ...string) []File {
		var fs []File
		for _, p := range paths {
			fs = append(fs, File{Path: p, Data: []byte("x")})
		}
		return fs
	}
	tests := []struct {
		name  string
		files []File
		want  error
	}{
		{"ok", file("flake.nix", "data/shards/0.json"), nil},
		{"none", nil, ErrNoFiles},
		{"empty path", file(""), ErrInvalidPath},
		{"absolute", file("/etc/passwd"), ErrInvalidPath},
		{"dot dot", file("data/../../x"), ErrInvalidPath},
		{"dot", file("./x"), ErrInvalidPath},
		{"empty segment", file("data//x"), ErrInvalidPath},
		{"trailing slash", file("data/"), ErrInvalidPath},
		{".git", file(".git/config"), ErrInvalidPath},
		{".GIT folded", file("a/.GIT/hooks/x"), ErrInvalidPath},
		{"backslash", file(`a\b`), ErrInvalidPath},
		{"control", file("a\nb"), ErrInvalidPath},
		{"not utf-8", file("a\xffb"), ErrInvalidPath},
		{"marker reserved", file(MarkerPath), ErrInvalidPath},
		{"duplicate", file("a", "a"), ErrInvalidPath},
		{"file and folder", file("data", "data/x"), ErrInvalidPath},
		{"file and deep folder", file("data/shards/x", "data/shards"), ErrInvalidPath},
		{".gitignore is fine", file(".gitignore", "a.git"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := checkFiles(tt.files); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("checkFiles = %v, want %v", err, tt.want)
			}
		})
	}
}
