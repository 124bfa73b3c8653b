package branch

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v60/github"

	"github.com/kwbauson/create-pin-refs/test/fakegithub"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// sent is a transport that keeps every request as sent: "METHOD PATH?QUERY"
// and its body.
type sent struct {
	mu    sync.Mutex
	calls []string
	body  map[string][]byte // the last body sent by each call
}

func (s *sent) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	call := req.Method + " " + strings.TrimPrefix(req.URL.RequestURI(), "/api/v3")
	s.mu.Lock()
	s.calls = append(s.calls, call)
	if s.body == nil {
		s.body = map[string][]byte{}
	}
	s.body[call] = body
	s.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

// take returns the calls sent since the last take, and their bodies.
func (s *sent) take() ([]string, map[string][]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	calls, body := s.calls, s.body
	s.calls, s.body = nil, nil
	return calls, body
}

func recordingClient(t *testing.T, fake *fakegithub.Server) (*github.Client, *sent) {
	t.Helper()
	s := &sent{}
	gh, err := NewClient(&http.Client{Transport: s}, fake.APIURL(), fake.Token)
	if err != nil {
		t.Fatal(err)
	}
	return gh, s
}

// shardedBundle is bundle("one") with two files of the same content, as the
// one-name bundles' Nix files are, and shard 1 varied by tag.
func shardedBundle(tag string) []File {
	files := bundle("one")
	for i, f := range files {
		if f.Path == "data/shards/1.json" {
			files[i].Data = []byte(`{"one":"/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-one-` + tag + `"}`)
		}
	}
	shared := []byte("{ }: import ../../lib.nix\n")
	return append(files, File{Path: "p/a/default.nix", Data: shared}, File{Path: "p/b/default.nix", Data: shared})
}

const (
	getRef       = "GET /repos/owner/repo/git/ref/heads/pins"
	getRepo      = "GET /repos/owner/repo"
	createBlob   = "POST /repos/owner/repo/git/blobs"
	createTree   = "POST /repos/owner/repo/git/trees"
	createCommit = "POST /repos/owner/repo/git/commits"
	createRef    = "POST /repos/owner/repo/git/refs"
	updateRef    = "PATCH /repos/owner/repo/git/refs/heads/pins"
)

// TestUpdateSendsOnlyWhatChanged publishes a bundle, then the same with one
// shard changed, then that again, and checks each publish's calls exactly and
// its create-tree request byte for byte (testdata/*.json, -update rewrites):
// an update sends the changed shard's content and names every other file by
// the id the branch's tree lists.
func TestUpdateSendsOnlyWhatChanged(t *testing.T) {
	fake, _ := setup(t, fakegithub.Options{})
	gh, rec := recordingClient(t, fake)
	var heads []*Result
	steps := []struct {
		name   string
		files  []File
		calls  func(head, tree string) []string
		golden string // the create-tree body's file, if any
	}{
		{
			name:  "first",
			files: shardedBundle("a"),
			// The shared content goes up once as a blob, everything else inline.
			calls: func(string, string) []string {
				return []string{getRef, createBlob, createTree, createCommit, createRef}
			},
			golden: "create-tree-first.json",
		},
		{
			name:  "update",
			files: shardedBundle("b"),
			// The head's tree is read once, recursively; the shared content is
			// on the branch already, so no blob is made.
			calls: func(head, tree string) []string {
				return []string{getRef, "GET /repos/owner/repo/git/commits/" + head, getRepo,
					"GET /repos/owner/repo/git/trees/" + tree + "?recursive=1", createTree, createCommit, updateRef}
			},
			golden: "create-tree-update.json",
		},
		{
			name:  "unchanged",
			files: shardedBundle("b"),
			// Two reads, nothing more.
			calls: func(head, _ string) []string {
				return []string{getRef, "GET /repos/owner/repo/git/commits/" + head}
			},
		},
	}
	for _, st := range steps {
		var head, tree string
		if len(heads) > 0 {
			head, tree = heads[len(heads)-1].CommitSHA, heads[len(heads)-1].TreeSHA
		}
		n := len(fake.Requests())
		res := mustPublish(t, gh, opts(fake), st.files)
		heads = append(heads, res)
		calls, body := rec.take()
		if diff := cmp.Diff(st.calls(head, tree), calls); diff != "" {
			t.Errorf("%s: calls (-want +got):\n%s", st.name, diff)
		}
		if res.APICalls != len(calls) {
			t.Errorf("%s: Result.APICalls = %d, %d sent", st.name, res.APICalls, len(calls))
		}
		if diff := cmp.Diff(wantFiles(st.files), cloneFiles(t, fake, "pins")); diff != "" {
			t.Errorf("%s: cloned files (-want +got):\n%s", st.name, diff)
		}
		if st.golden == "" {
			continue
		}
		got := body[createTree]
		golden(t, st.golden, got)
		// The fake counted the same bytes: what the benchmark reports.
		for _, r := range since(fake, n) {
			if r.Method+" "+r.Path == createTree && r.RequestBytes != int64(len(got)) {
				t.Errorf("%s: the fake counted %d request bytes, %d were sent", st.name, r.RequestBytes, len(got))
			}
		}
	}
	// Only the changed shard's content travelled in the update.
	sentUpdate := readGolden(t, "create-tree-update.json")
	for _, f := range shardedBundle("b") {
		inline := bytes.Contains(sentUpdate, jsonString(t, f.Data))
		if want := f.Path == "data/shards/1.json"; inline != want {
			t.Errorf("update: content of %s sent: %v, want %v", f.Path, inline, want)
		}
	}
}

// TestReuseOnlyTheBranchsBlobs: content the repository holds outside the
// branch's tree (a blob made by hand), and new content, go up as content:
// only ids the branch's own tree lists are named.
func TestReuseOnlyTheBranchsBlobs(t *testing.T) {
	fake, _ := setup(t, fakegithub.Options{})
	gh, rec := recordingClient(t, fake)
	mustPublish(t, gh, opts(fake), bundle("one"))
	loose := []byte("a blob in the repository, on no branch\n")
	made, _, err := gh.Git.CreateBlob(context.Background(), "owner", "repo", &github.Blob{
		Content: github.String(string(loose)), Encoding: github.String("utf-8"),
	})
	if err != nil || made.GetSHA() != blobID(loose) {
		t.Fatalf("CreateBlob = %s, %v; want %s", made.GetSHA(), err, blobID(loose))
	}
	rec.take()
	files := append(bundle("one"), File{Path: "loose", Data: loose}, File{Path: "new", Data: []byte("new content\n")})
	mustPublish(t, gh, opts(fake), files)
	_, body := rec.take()
	entries := treeEntries(t, body[createTree])
	for _, f := range files {
		e := entries[f.Path]
		switch byID := e.SHA != nil; {
		case f.Path == "loose" || f.Path == "new":
			if byID || e.GetContent() != string(f.Data) {
				t.Errorf("%s sent as %+v, want its content", f.Path, e)
			}
		case !byID || e.GetSHA() != blobID(f.Data):
			t.Errorf("%s sent as %+v, want its id %s", f.Path, e, blobID(f.Data))
		}
	}
}

// TestTruncatedTreeSendsAll: when GitHub cuts the listing of the head's tree
// short, the update sends every file's content, as a first publish does.
func TestTruncatedTreeSendsAll(t *testing.T) {
	fake, _ := setup(t, fakegithub.Options{TreeLimit: 3})
	gh, rec := recordingClient(t, fake)
	mustPublish(t, gh, opts(fake), bundle("one"))
	rec.take()
	files := bundle("two")
	res := mustPublish(t, gh, opts(fake), files)
	calls, body := rec.take()
	if res.APICalls != 7 || len(calls) != 7 {
		t.Errorf("calls = %q, want 7 (the recursive read included)", calls)
	}
	entries := treeEntries(t, body[createTree])
	for _, f := range append(files, File{Path: MarkerPath, Data: MarkerContent()}) {
		if e := entries[f.Path]; e.SHA != nil || e.GetContent() != string(f.Data) {
			t.Errorf("%s sent as %+v, want its content", f.Path, e)
		}
	}
	if diff := cmp.Diff(wantFiles(files), cloneFiles(t, fake, "pins")); diff != "" {
		t.Errorf("cloned files (-want +got):\n%s", diff)
	}
}

func treeEntries(t *testing.T, body []byte) map[string]*github.TreeEntry {
	t.Helper()
	var req struct {
		Tree []*github.TreeEntry `json:"tree"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatalf("create-tree body: %v", err)
	}
	m := map[string]*github.TreeEntry{}
	for _, e := range req.Tree {
		m[e.GetPath()] = e
	}
	if len(m) == 0 {
		t.Fatal("no create-tree request")
	}
	return m
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if want := readGolden(t, name); !slices.Equal(want, got) {
		t.Errorf("%s differs from what was sent (-want +got):\n%s", path, cmp.Diff(string(want), string(got)))
	}
}

func readGolden(t *testing.T, name string) []byte {
	t.Helper()
	want, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	return want
}

// jsonString is data as a JSON string, as go-github writes it.
func jsonString(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(string(data)); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
