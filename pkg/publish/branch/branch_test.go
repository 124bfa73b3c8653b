package branch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v60/github"

	"github.com/kwbauson/create-pin-refs/pkg/retry"
	"github.com/kwbauson/create-pin-refs/test/fakegithub"
)

// sleeps records the waits asked for, without waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return nil
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.d)
}

func noSleep(context.Context, time.Duration) error { return nil }

func setup(t *testing.T, o fakegithub.Options) (*fakegithub.Server, *github.Client) {
	t.Helper()
	fake := fakegithub.New(t, o)
	t.Cleanup(func() {
		for _, err := range fake.InternalErrors() {
			t.Errorf("fake GitHub failed: %v", err)
		}
	})
	return fake, client(t, fake, fake.Token)
}

func client(t *testing.T, fake *fakegithub.Server, token string) *github.Client {
	t.Helper()
	gh, err := NewClient(nil, fake.APIURL(), token)
	if err != nil {
		t.Fatal(err)
	}
	return gh
}

func opts(fake *fakegithub.Server) Options {
	return Options{Owner: fake.Owner, Repo: fake.Repo, Retry: retry.Policy{Sleep: noSleep}}
}

// bundle is a file set shaped like a real one, varied by tag.
func bundle(tag string) []File {
	return []File{
		{Path: "flake.nix", Data: []byte("{ outputs = _: import ./default.nix { }; } # " + tag + "\n")},
		{Path: "default.nix", Data: []byte("{ system ? builtins.currentSystem }: builtins.fromJSON (builtins.readFile ./data/index.json)\n")},
		{Path: "data/index.json", Data: []byte(`{"hello":0,"` + tag + `":1}`)},
		{Path: "data/shards/0.json", Data: []byte(`{"hello":"/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-hello"}`)},
		{Path: "data/shards/1.json", Data: []byte(`{"` + tag + `":"/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-` + tag + `"}`)},
		{Path: "bin/show", Data: []byte("#!/bin/sh\ncat data/index.json\n"), Executable: true},
	}
}

type checkedOut struct {
	Data       string
	Executable bool
}

// cloneFiles clones the branch from the bare repository with git and
// returns every file of the work tree.
func cloneFiles(t *testing.T, fake *fakegithub.Server, branch string) map[string]checkedOut {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "clone")
	runGit(t, "", "clone", "--quiet", "--branch", branch, fake.GitDir, dir)
	got := map[string]checkedOut{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		got[filepath.ToSlash(rel)] = checkedOut{Data: string(data), Executable: info.Mode()&0o100 != 0}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func wantFiles(files []File) map[string]checkedOut {
	want := map[string]checkedOut{MarkerPath: {Data: string(MarkerContent())}}
	for _, f := range files {
		want[f.Path] = checkedOut{Data: string(f.Data), Executable: f.Executable}
	}
	return want
}

func mustPublish(t *testing.T, gh *github.Client, o Options, files []File) *Result {
	t.Helper()
	res, err := Publish(context.Background(), gh, o, files)
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	return res
}

// since returns the fake's requests after the first n.
func since(fake *fakegithub.Server, n int) []fakegithub.Request {
	return fake.Requests()[n:]
}

func writes(reqs []fakegithub.Request) int {
	n := 0
	for _, r := range reqs {
		if r.Write {
			n++
		}
	}
	return n
}

// parents returns each commit of branch with its parents (git rev-list --parents).
func parents(t *testing.T, fake *fakegithub.Server, branch string) map[string][]string {
	t.Helper()
	out, err := fake.Git("rev-list", "--parents", "refs/heads/"+branch)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]string{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		m[f[0]] = f[1:]
	}
	return m
}

func TestPublishFirst(t *testing.T) {
	fake, gh := setup(t, fakegithub.Options{})
	files := bundle("one")
	res := mustPublish(t, gh, opts(fake), files)

	want := &Result{
		CommitSHA: res.CommitSHA,
		TreeSHA:   res.TreeSHA,
		Changed:   true,
		Created:   true,
		FlakeRef:  "github:owner/repo/pins?host=" + strings.TrimPrefix(fake.URL, "http://"),
		APICalls:  4, // GetRef (404), CreateTree, CreateCommit, CreateRef
		Attempts:  1,
		Verified:  true, // no author named: the token's, signed by GitHub
	}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("Result (-want +got):\n%s", diff)
	}
	if got := len(fake.Requests()); got != res.APICalls {
		t.Errorf("fake saw %d requests, Result.APICalls = %d", got, res.APICalls)
	}
	if diff := cmp.Diff(wantFiles(files), cloneFiles(t, fake, "pins")); diff != "" {
		t.Errorf("cloned files (-want +got):\n%s", diff)
	}
	if got, _ := fake.Git("rev-parse", "pins^{tree}"); got != res.TreeSHA {
		t.Errorf("tree of pins = %s, Result.TreeSHA = %s", got, res.TreeSHA)
	}
	if diff := cmp.Diff(map[string][]string{res.CommitSHA: {}}, parents(t, fake, "pins")); diff != "" {
		t.Errorf("history is not one root commit (-want +got):\n%s", diff)
	}
	author, _ := fake.Git("log", "-1", "--format=%an <%ae>|%cn <%ce>", "pins")
	if want := BotName + " <" + BotEmail + ">|" + BotName + " <" + BotEmail + ">"; author != want {
		t.Errorf("author|committer = %q, want %q", author, want)
	}
	if main, _ := fake.Git("rev-list", "--count", "main"); main != "1" {
		t.Errorf("main has %s commits, want it untouched (1)", main)
	}
}

// TestPublishAuthor: a commit that names its author and committer is
// theirs, and GitHub does not sign it; one that names neither is the
// token's, signed (Verified).
func TestPublishAuthor(t *testing.T) {
	for _, tt := range []struct {
		name      string
		author    Identity
		committer Identity
		want      string
		verified  bool
	}{
		{"none", Identity{}, Identity{}, BotName + " <" + BotEmail + ">|" + BotName + " <" + BotEmail + ">", true},
		{"author", Identity{"A", "a@example.com"}, Identity{}, "A <a@example.com>|A <a@example.com>", false},
		{"both", Identity{"A", "a@example.com"}, Identity{"C", "c@example.com"}, "A <a@example.com>|C <c@example.com>", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fake, gh := setup(t, fakegithub.Options{})
			o := opts(fake)
			o.Author, o.Committer = tt.author, tt.committer
			res := mustPublish(t, gh, o, bundle("one"))
			author, _ := fake.Git("log", "-1", "--format=%an <%ae>|%cn <%ce>", "pins")
			if author != tt.want || res.Verified != tt.verified {
				t.Errorf("author|committer %q, verified %t; want %q, %t", author, res.Verified, tt.want, tt.verified)
			}
		})
	}
}

func TestPublishUpdate(t *testing.T) {
	fake, gh := setup(t, fakegithub.Options{})
	first := mustPublish(t, gh, opts(fake), bundle("one"))
	files := bundle("two")[1:] // flake.nix removed, others changed
	n := len(fake.Requests())
	res := mustPublish(t, gh, opts(fake), files)

	if !res.Changed || res.Created || res.Attempts != 1 {
		t.Errorf("Result = %+v, want changed, not created, 1 attempt", res)
	}
	// GetRef, GetCommit, GetRepository (the default branch), CreateTree,
	// CreateCommit, UpdateRef: the head's trailer spares the GetTree, and
	// files this small are not worth listing the head's tree for (reuse_test).
	if res.APICalls != 6 || len(since(fake, n)) != 6 {
		t.Errorf("update made %d calls (fake saw %d), want 6", res.APICalls, len(since(fake, n)))
	}
	if diff := cmp.Diff(wantFiles(files), cloneFiles(t, fake, "pins")); diff != "" {
		t.Errorf("cloned files (-want +got):\n%s", diff)
	}
	want := map[string][]string{first.CommitSHA: {}, res.CommitSHA: {first.CommitSHA}}
	if diff := cmp.Diff(want, parents(t, fake, "pins")); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	if fake.ForcedUpdates() != 0 {
		t.Error("a ref update asked for force")
	}
}

func TestPublishUnchanged(t *testing.T) {
	fake, gh := setup(t, fakegithub.Options{})
	first := mustPublish(t, gh, opts(fake), bundle("one"))
	n := len(fake.Requests())
	res := mustPublish(t, gh, opts(fake), bundle("one"))

	if res.Changed || res.CommitSHA != first.CommitSHA || res.TreeSHA != first.TreeSHA {
		t.Errorf("Result = %+v, want unchanged at %s", res, first.CommitSHA)
	}
	reqs := since(fake, n)
	if res.APICalls != 2 || len(reqs) != 2 || writes(reqs) != 0 {
		t.Errorf("unchanged publish: APICalls %d, requests %+v; want 2 reads, no write", res.APICalls, reqs)
	}
	if got := len(parents(t, fake, "pins")); got != 1 {
		t.Errorf("history has %d commits, want 1", got)
	}
}

// plainCommit commits files (the whole tree) to branch with plain git and
// pushes it, as a user would: no marker unless given, no trailer. With
// onTop, the commit goes on top of the branch's head.
func plainCommit(t *testing.T, fake *fakegithub.Server, branch string, onTop bool, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "work")
	if onTop {
		runGit(t, "", "clone", "--quiet", "--branch", branch, fake.GitDir, dir)
		runGit(t, dir, "rm", "-r", "--quiet", ".")
	} else {
		runGit(t, "", "init", "--quiet", dir)
	}
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runGit(t, dir, "add", "--all")
	runGit(t, dir, "-c", "user.name=Someone", "-c", "user.email=someone@example.com", "commit", "--quiet", "-m", "hand-made")
	runGit(t, dir, "push", "--quiet", fake.GitDir, "HEAD:refs/heads/"+branch)
	return runGit(t, dir, "rev-parse", "HEAD")
}

func TestForeignBranch(t *testing.T) {
	fake, gh := setup(t, fakegithub.Options{})
	foreign := plainCommit(t, fake, "pins", false, map[string]string{"hello.txt": "hi\n"})

	n := len(fake.Requests())
	_, err := Publish(context.Background(), gh, opts(fake), bundle("one"))
	if !errors.Is(err, ErrForeignBranch) {
		t.Fatalf("Publish = %v, want ErrForeignBranch", err)
	}
	for _, s := range []string{"not managed by create-pin-refs", `branch "pins" exists and it has no .create-pin-refs file`} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
	if w := writes(since(fake, n)); w != 0 {
		t.Errorf("refused publish made %d writes", w)
	}
	if head, _ := fake.Git("rev-parse", "pins"); head != foreign {
		t.Fatalf("pins moved to %s", head)
	}

	// Forced: one normal commit on top, nothing lost; the marker is not
	// looked up, the repository's default branch is.
	o := opts(fake)
	o.Force = true
	files := bundle("one")
	n = len(fake.Requests())
	res := mustPublish(t, gh, o, files)
	if res.APICalls != 6 || len(since(fake, n)) != 6 {
		t.Errorf("forced publish made %d calls, want 6", res.APICalls)
	}
	want := map[string][]string{foreign: {}, res.CommitSHA: {foreign}}
	if diff := cmp.Diff(want, parents(t, fake, "pins")); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantFiles(files), cloneFiles(t, fake, "pins")); diff != "" {
		t.Errorf("cloned files (-want +got):\n%s", diff)
	}
	if fake.ForcedUpdates() != 0 {
		t.Error("Force made a forced ref update; it must add a commit instead")
	}

	// Now managed: an unforced publish goes through.
	mustPublish(t, gh, opts(fake), bundle("two"))
}

// TestForceNeverTakesTheDefaultBranch: the bundle replaces every file of the
// branch it lands on, so even Force refuses the repository's main line.
func TestForceNeverTakesTheDefaultBranch(t *testing.T) {
	fake, gh := setup(t, fakegithub.Options{})
	def, err := fake.Git("symbolic-ref", "--short", "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	head := plainCommit(t, fake, def, true, map[string]string{"main.go": "package main\n"})
	o := opts(fake)
	o.Branch, o.Force = def, true
	n := len(fake.Requests())
	_, err = Publish(context.Background(), gh, o, bundle("one"))
	if !errors.Is(err, ErrDefaultBranch) || strings.Contains(err.Error(), "--") {
		t.Fatalf("Publish = %v, want ErrDefaultBranch naming no option", err)
	}
	if w := writes(since(fake, n)); w != 0 {
		t.Errorf("refused publish made %d writes", w)
	}
	if got, _ := fake.Git("rev-parse", def); got != head {
		t.Errorf("%s moved to %s", def, got)
	}
}

// TestHandEditedBranch: a commit made by hand on top of a managed branch
// has no trailer, so the marker is looked up (one GetTree more).
func TestHandEditedBranch(t *testing.T) {
	tests := []struct {
		name      string
		files     map[string]string
		wantErr   error
		wantCalls int
	}{
		// GetRef, GetCommit, GetRepository, GetTree, then CreateTree,
		// CreateCommit, UpdateRef; a marker of other bytes costs a GetBlob.
		{"marker kept", map[string]string{MarkerPath: string(MarkerContent()), "flake.nix": "edited\n"}, nil, 7},
		{"marker of other wording, same format", map[string]string{MarkerPath: markerHead + " edited by hand.\nformat: 1\n", "flake.nix": "edited\n"}, nil, 8},
		{"marker removed", map[string]string{"flake.nix": "edited\n"}, ErrForeignBranch, 4},
		{"marker of other content", map[string]string{MarkerPath: "mine, not create-pin-refs'\n", "flake.nix": "edited\n"}, ErrForeignBranch, 5},
		{"marker naming create-pin-refs loosely", map[string]string{MarkerPath: "create-pin-refs\nformat: 1\n", "flake.nix": "edited\n"}, ErrForeignBranch, 5},
		{"marker of a newer format", map[string]string{MarkerPath: markerHead + " later.\nformat: 2\n", "flake.nix": "edited\n"}, ErrForeignBranch, 5},
		{"marker is a folder", map[string]string{MarkerPath + "/x": string(MarkerContent()), "flake.nix": "edited\n"}, ErrForeignBranch, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, gh := setup(t, fakegithub.Options{})
			mustPublish(t, gh, opts(fake), bundle("one"))
			hand := plainCommit(t, fake, "pins", true, tt.files)
			n := len(fake.Requests())
			res, err := Publish(context.Background(), gh, opts(fake), bundle("one"))
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("Publish = %v, want %v", err, tt.wantErr)
			}
			if got := len(since(fake, n)); got != tt.wantCalls {
				t.Errorf("made %d calls, want %d", got, tt.wantCalls)
			}
			if err != nil {
				return
			}
			if got := parents(t, fake, "pins")[res.CommitSHA]; !slices.Equal(got, []string{hand}) {
				t.Errorf("parents of the new head = %v, want [%s]", got, hand)
			}
		})
	}
}

func TestPublishErrors(t *testing.T) {
	tests := []struct {
		name    string
		fake    fakegithub.Options
		token   func(*fakegithub.Server) string
		want    error
		mention []string
	}{
		{
			name:    "read-only token",
			token:   func(f *fakegithub.Server) string { return f.ReadOnlyToken },
			want:    ErrPermission,
			mention: []string{"403", "Resource not accessible by integration", "permissions: contents: write"},
		},
		{
			name:    "bad credentials",
			token:   func(*fakegithub.Server) string { return "ghp_wrongwrongwrong" },
			want:    ErrBadCredentials,
			mention: []string{"401", "Bad credentials", "token"},
		},
		{
			name:    "no token",
			token:   func(*fakegithub.Server) string { return "" },
			want:    ErrBadCredentials,
			mention: []string{"401"},
		},
		{
			name:    "empty repository",
			fake:    fakegithub.Options{Empty: true},
			token:   func(f *fakegithub.Server) string { return f.Token },
			want:    ErrEmptyRepository,
			mention: []string{"409", "Git Repository is empty.", "at least one commit", "owner/repo"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, _ := setup(t, tt.fake)
			token := tt.token(fake)
			_, err := Publish(context.Background(), client(t, fake, token), opts(fake), bundle("one"))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Publish = %v, want %v", err, tt.want)
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Errorf("error %v is no *APIError", err)
			}
			for _, s := range tt.mention {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			if token != "" && strings.Contains(err.Error(), token) {
				t.Errorf("error shows the token: %q", err)
			}
			if _, gerr := fake.Git("rev-parse", "--verify", "--quiet", "refs/heads/pins"); gerr == nil {
				t.Error("pins was created")
			}
		})
	}
}

// errExhausted stands for a *retry.ExhaustedError in a table, errPermanent
// for any other error.
var (
	errExhausted = errors.New("exhausted")
	errPermanent = errors.New("a failure that is not retried")
)

func TestPublishRetries(t *testing.T) {
	tests := []struct {
		name        string
		failures    int
		status      int
		maxAttempts int
		wantErr     error
		wantSleeps  int
		minSleep    time.Duration // the first wait at least (Retry-After)
	}{
		{name: "502 twice", failures: 2, status: http.StatusBadGateway, wantSleeps: 2},
		{name: "500 once", failures: 1, status: http.StatusInternalServerError, wantSleeps: 1},
		{name: "429 with Retry-After", failures: 1, status: http.StatusTooManyRequests, wantSleeps: 1, minSleep: time.Second},
		{name: "503 forever", failures: 1000, status: http.StatusServiceUnavailable, maxAttempts: 3, wantErr: errExhausted, wantSleeps: 2},
		// A URL that is not the API (a proxy, another server) may answer
		// 501: retrying it only delays the error.
		{name: "501 at once", failures: 1000, status: http.StatusNotImplemented, wantErr: errPermanent, wantSleeps: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, gh := setup(t, fakegithub.Options{})
			mustPublish(t, gh, opts(fake), bundle("one"))
			fake.FailNext(tt.failures, tt.status)
			var s sleeps
			o := opts(fake)
			o.Retry = retry.Policy{Sleep: s.sleep, Attempts: tt.maxAttempts}
			n := len(fake.Requests())
			res, err := Publish(context.Background(), gh, o, bundle("two"))
			var ex *retry.ExhaustedError
			if (tt.wantErr == errExhausted) != errors.As(err, &ex) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("Publish = %v, want %v", err, tt.wantErr)
			}
			got := s.all()
			if len(got) != tt.wantSleeps {
				t.Errorf("slept %d times (%v), want %d", len(got), got, tt.wantSleeps)
			}
			if len(got) > 0 && got[0] < tt.minSleep {
				t.Errorf("first wait %v, want at least %v", got[0], tt.minSleep)
			}
			if err != nil {
				if !strings.Contains(err.Error(), fmt.Sprint(tt.status)) {
					t.Errorf("error %q does not give the last status", err)
				}
				return
			}
			if !res.Changed || res.Attempts != tt.failures+1 || res.APICalls != len(since(fake, n)) {
				t.Errorf("Result = %+v; fake saw %d requests", res, len(since(fake, n)))
			}
		})
	}
}

// lostAnswer passes requests on but answers the first ref write with a
// 502, as when GitHub applied it and the answer was lost.
type lostAnswer struct {
	next   http.RoundTripper
	method string // of the ref write to lose
	lost   atomic.Bool
}

func (l *lostAnswer) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(req)
	if err == nil && req.Method == l.method && strings.Contains(req.URL.Path, "/git/refs") && l.lost.CompareAndSwap(false, true) {
		resp.Body.Close()
		return &http.Response{
			StatusCode: http.StatusBadGateway, Status: "502 Bad Gateway", Request: req,
			Header: http.Header{"Content-Type": {"application/json"}},
			Body:   http.NoBody,
		}, nil
	}
	return resp, err
}

func TestLostAnswerIsNotANewCommit(t *testing.T) {
	tests := []struct {
		name   string
		method string
		before bool // pins published before
	}{
		{"create", http.MethodPost, false},
		{"update", http.MethodPatch, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, gh := setup(t, fakegithub.Options{})
			want := map[string][]string{}
			var parent []string
			if tt.before {
				first := mustPublish(t, gh, opts(fake), bundle("one"))
				want[first.CommitSHA] = []string{}
				parent = []string{first.CommitSHA}
			}
			lossy, err := NewClient(&http.Client{Transport: &lostAnswer{next: http.DefaultTransport, method: tt.method}}, fake.APIURL(), fake.Token)
			if err != nil {
				t.Fatal(err)
			}
			res := mustPublish(t, lossy, opts(fake), bundle("two"))
			if !res.Changed || res.Attempts != 2 || res.Created == tt.before {
				t.Errorf("Result = %+v, want changed after 2 attempts, created %v", res, !tt.before)
			}
			want[res.CommitSHA] = append([]string{}, parent...)
			if diff := cmp.Diff(want, parents(t, fake, "pins")); diff != "" {
				t.Errorf("history (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPublishBinaryFile(t *testing.T) {
	fake, gh := setup(t, fakegithub.Options{})
	files := []File{{Path: "data/blob.bin", Data: []byte{0xff, 0x00, 0xfe, 'x', 0x80}}, {Path: "flake.nix", Data: []byte("{ }\n")}}
	res := mustPublish(t, gh, opts(fake), files)
	if res.APICalls != 5 { // GetRef, CreateBlob, CreateTree, CreateCommit, CreateRef
		t.Errorf("APICalls = %d, want 5", res.APICalls)
	}
	if diff := cmp.Diff(wantFiles(files), cloneFiles(t, fake, "pins")); diff != "" {
		t.Errorf("cloned files (-want +got):\n%s", diff)
	}
}

func TestPublishOtherBranch(t *testing.T) {
	fake, gh := setup(t, fakegithub.Options{})
	o := opts(fake)
	o.Branch = "pins/v1"
	res := mustPublish(t, gh, o, bundle("one"))
	if want := "github:owner/repo?ref=pins/v1&host=" + strings.TrimPrefix(fake.URL, "http://"); res.FlakeRef != want {
		t.Errorf("FlakeRef = %q, want %q", res.FlakeRef, want)
	}
	if diff := cmp.Diff(wantFiles(bundle("one")), cloneFiles(t, fake, "pins/v1")); diff != "" {
		t.Errorf("cloned files (-want +got):\n%s", diff)
	}
}

// TestRejectedBeforeAnyRequest: bad input fails without touching GitHub.
func TestRejectedBeforeAnyRequest(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Options)
		files []File
		want  error
	}{
		{name: "no files", want: ErrNoFiles},
		{name: "unsafe path", files: []File{{Path: "../x"}}, want: ErrInvalidPath},
		{name: ".git path", files: []File{{Path: ".git/hooks/post-checkout"}}, want: ErrInvalidPath},
		{name: "bad branch", edit: func(o *Options) { o.Branch = "a..b" }, files: bundle("x")},
		{name: "no owner", edit: func(o *Options) { o.Owner = "" }, files: bundle("x")},
		{name: "dot-dot repo", edit: func(o *Options) { o.Repo = ".." }, files: bundle("x")},
		{name: "repo with slash", edit: func(o *Options) { o.Repo = "a/b" }, files: bundle("x")},
		{name: "bad author", edit: func(o *Options) { o.Author = Identity{Name: "x <y>", Email: "e"} }, files: bundle("x")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, gh := setup(t, fakegithub.Options{})
			o := opts(fake)
			if tt.edit != nil {
				tt.edit(&o)
			}
			_, err := Publish(context.Background(), gh, o, tt.files)
			if err == nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Publish = %v, want %v", err, tt.want)
			}
			if got := len(fake.Requests()); got != 0 {
				t.Errorf("made %d requests", got)
			}
		})
	}
}

func TestNewClient(t *testing.T) {
	tests := []struct {
		api, want string
		wantErr   bool
	}{
		{"", "https://api.github.com/", false},
		{"https://api.github.com", "https://api.github.com/", false},
		{"https://api.github.com/", "https://api.github.com/", false},
		{"https://ghe.example.com/api/v3", "https://ghe.example.com/api/v3/", false},
		{"https://ghe.example.com", "https://ghe.example.com/api/v3/", false},
		{"https://api.acme.ghe.com", "https://api.acme.ghe.com/", false},
		{"http://127.0.0.1:8080/api/v3/", "http://127.0.0.1:8080/api/v3/", false},
		{"ftp://example.com", "", true},
		{"https://user:secret@ghe.example.com", "", true},
		{"ghe.example.com", "", true},
	}
	for _, tt := range tests {
		gh, err := NewClient(nil, tt.api, "tok")
		if tt.wantErr {
			if err == nil {
				t.Errorf("NewClient(%q) = nil error, want one", tt.api)
			} else if strings.Contains(err.Error(), "secret") {
				t.Errorf("NewClient(%q) error shows the password: %v", tt.api, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("NewClient(%q): %v", tt.api, err)
			continue
		}
		if got := gh.BaseURL.String(); got != tt.want {
			t.Errorf("NewClient(%q).BaseURL = %q, want %q", tt.api, got, tt.want)
		}
	}
}

func TestFlakeRef(t *testing.T) {
	gh, _ := NewClient(nil, "", "")
	ghe, _ := NewClient(nil, "https://ghe.example.com/api/v3", "")
	tests := []struct {
		gh     *github.Client
		branch string
		want   string
	}{
		{gh, "pins", "github:o/r/pins"},
		{gh, "pins/v1", "github:o/r?ref=pins/v1"},
		{ghe, "pins", "github:o/r/pins?host=ghe.example.com"},
	}
	for _, tt := range tests {
		if got := FlakeRef(tt.gh, Options{Owner: "o", Repo: "r", Branch: tt.branch}); got != tt.want {
			t.Errorf("FlakeRef(%s) = %q, want %q", tt.branch, got, tt.want)
		}
	}
}

// TestPublishSharedContent: content that several files hold goes up once, as
// a blob the tree names, not inline once per file; the tree is the same.
func TestPublishSharedContent(t *testing.T) {
	fake, gh := setup(t, fakegithub.Options{})
	shared := []byte(strings.Repeat("{ shared nix code; }\n", 50))
	var files []File
	for _, name := range []string{"a", "b", "c"} {
		files = append(files, File{Path: "p/" + name + "/pin.nix", Data: shared}, File{Path: "p/" + name + "/pin.json", Data: []byte(`{"name":"` + name + `"}`)})
	}
	res := mustPublish(t, gh, opts(fake), files)
	if res.APICalls != 5 { // GetRef, CreateBlob, CreateTree, CreateCommit, CreateRef
		t.Errorf("APICalls = %d, want 5", res.APICalls)
	}
	var treeBytes int64
	for _, r := range fake.Requests() {
		if r.Method == "POST" && strings.HasSuffix(r.Path, "/git/trees") {
			treeBytes = r.RequestBytes
		}
	}
	if treeBytes == 0 || treeBytes > int64(len(shared)) {
		t.Errorf("the tree request took %d bytes, want fewer than one copy of the shared content (%d)", treeBytes, len(shared))
	}
	if diff := cmp.Diff(wantFiles(files), cloneFiles(t, fake, "pins")); diff != "" {
		t.Errorf("cloned files (-want +got):\n%s", diff)
	}
	// Unchanged: reads only.
	if res := mustPublish(t, gh, opts(fake), files); res.Changed || res.APICalls != 2 {
		t.Errorf("an unchanged publish: changed %v in %d calls, want reads only", res.Changed, res.APICalls)
	}
}
