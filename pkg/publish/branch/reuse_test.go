package branch

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v60/github"

	"github.com/kwbauson/create-pin-refs/pkg/retry"
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

// shardedBundle is bundle("one") with shards big enough for reading the
// head's tree to pay (worthListing), shard 1 varied by tag, and two files of
// the same content, as the one-name bundles' Nix files are.
func shardedBundle(tag string) []File {
	files := bigBundle("one")
	for i, f := range files {
		if f.Path == "data/shards/1.json" {
			files[i].Data = []byte(`{"one":"/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-one-` + tag + `"}`)
		}
	}
	shared := []byte("{ }: import ../../lib.nix\n")
	return append(files, File{Path: "p/a/default.nix", Data: shared}, File{Path: "p/b/default.nix", Data: shared})
}

// bigBundle is bundle(tag) and a shard of 4 KiB, which makes reading the
// head's tree worth it.
func bigBundle(tag string) []File {
	var big []byte
	for i := range 64 {
		big = fmt.Appendf(big, `"name%02d":"/nix/store/%032d-name%02d",`, i, i, i)
	}
	return append(bundle(tag), File{Path: "data/shards/2.json", Data: big})
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
	mustPublish(t, gh, opts(fake), bigBundle("one"))
	loose := []byte("a blob in the repository, on no branch\n")
	made, _, err := gh.Git.CreateBlob(context.Background(), "owner", "repo", &github.Blob{
		Content: github.String(string(loose)), Encoding: github.String("utf-8"),
	})
	if err != nil || made.GetSHA() != blobID(loose) {
		t.Fatalf("CreateBlob = %s, %v; want %s", made.GetSHA(), err, blobID(loose))
	}
	rec.take()
	files := append(bigBundle("one"), File{Path: "loose", Data: loose}, File{Path: "new", Data: []byte("new content\n")})
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
	mustPublish(t, gh, opts(fake), bigBundle("one"))
	rec.take()
	files := bigBundle("two")
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

// TestWorthListing: the head's tree is read only when the content it could
// spare outweighs the listing; an update of many tiny files sends them all
// in the old number of calls, without the read.
func TestWorthListing(t *testing.T) {
	for _, tt := range []struct {
		name  string
		files []File
		want  bool
	}{
		{"small files", bundle("one"), false},
		{"a 4 KiB shard", bigBundle("one"), true},
		{"one-name folders", namedBundle(500, -1), false},
		{"the same 300 bytes twice count once", []File{{Path: "a", Data: make([]byte, 300)}, {Path: "b", Data: make([]byte, 300)}}, false},
	} {
		if got := worthListing(tt.files); got != tt.want {
			t.Errorf("%s: worthListing = %v, want %v", tt.name, got, tt.want)
		}
	}

	fake, _ := setup(t, fakegithub.Options{})
	gh, rec := recordingClient(t, fake)
	first := mustPublish(t, gh, opts(fake), namedBundle(50, -1))
	rec.take()
	files := namedBundle(50, 5)
	res := mustPublish(t, gh, opts(fake), files)
	calls, body := rec.take()
	// As before reuse: the shared Nix files go up as blobs, the rest inline.
	want := []string{getRef, "GET /repos/owner/repo/git/commits/" + first.CommitSHA, getRepo,
		createBlob, createBlob, createBlob, createTree, createCommit, updateRef}
	if diff := cmp.Diff(want, calls); diff != "" || res.APICalls != len(want) {
		t.Errorf("APICalls %d, calls (-want +got):\n%s", res.APICalls, diff)
	}
	shared := map[string]bool{}
	for _, f := range namedBundle(1, -1)[:3] {
		shared[blobID(f.Data)] = true
	}
	for path, e := range treeEntries(t, body[createTree]) {
		if e.SHA != nil && !shared[e.GetSHA()] {
			t.Errorf("%s named by id %s though no listing was read", path, e.GetSHA())
		}
	}
	if diff := cmp.Diff(wantFiles(files), cloneFiles(t, fake, "pins")); diff != "" {
		t.Errorf("cloned files (-want +got):\n%s", diff)
	}
}

// BenchmarkUpdate publishes a bundle shaped like a big one with one-name
// folders (shards, and names × four files of which three are shared), then
// an update of 5 names and their shards, and reports the update's
// create-tree request and the bytes it received (the recursive listing).
//
//	go test -run '^$' -bench Update -benchtime 1x ./pkg/publish/branch
func BenchmarkUpdate(b *testing.B) {
	for _, names := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("names=%d", names), func(b *testing.B) {
			for range b.N {
				fake := fakegithub.New(b, fakegithub.Options{})
				gh, err := NewClient(nil, fake.APIURL(), fake.Token)
				if err != nil {
					b.Fatal(err)
				}
				o := Options{Owner: fake.Owner, Repo: fake.Repo, Retry: retry.Policy{Sleep: noSleep}}
				if _, err := Publish(context.Background(), gh, o, namedBundle(names, -1)); err != nil {
					b.Fatal(err)
				}
				n := len(fake.Requests())
				if _, err := Publish(context.Background(), gh, o, namedBundle(names, 5)); err != nil {
					b.Fatal(err)
				}
				var tree, received int64
				for _, r := range since(fake, n) {
					received += r.ResponseBytes
					if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/git/trees") {
						tree = r.RequestBytes
					}
				}
				b.ReportMetric(float64(tree), "tree-request-bytes")
				b.ReportMetric(float64(received), "received-bytes")
			}
		})
	}
}

// namedBundle is names one-name folders and a shard per 100 names; changed
// names (spread over the list) point elsewhere, -1 for none.
func namedBundle(names, changed int) []File {
	shared := [3][]byte{[]byte("{ outputs = _: import ./default.nix { }; }\n"), []byte("import ./lib.nix\n"), []byte(strings.Repeat("# lib\n", 100))}
	moved := map[int]bool{}
	for i := range max(changed, 0) {
		moved[i*names/changed] = true
	}
	var files []File
	shards := map[int][]byte{}
	for i := range names {
		path := fmt.Sprintf("/nix/store/%032d-name%d", i, i)
		if moved[i] {
			path += "-moved"
		}
		pin := fmt.Appendf(nil, `{"name%d":%q}`, i, path)
		shards[i/100] = append(shards[i/100], pin...)
		dir := fmt.Sprintf("p/name%d/", i)
		files = append(files, File{Path: dir + "flake.nix", Data: shared[0]}, File{Path: dir + "default.nix", Data: shared[1]},
			File{Path: dir + "lib.nix", Data: shared[2]}, File{Path: dir + "pinned.json", Data: pin})
	}
	for s, data := range shards {
		files = append(files, File{Path: fmt.Sprintf("data/shards/%d.json", s), Data: data})
	}
	return files
}

// TestBlobsGoTogether: the blobs a tree names (content several files
// share) are sent together over HTTP/2, not one round trip each, and one
// after another over HTTP/1.1, where each would dial a connection.
func TestBlobsGoTogether(t *testing.T) {
	for _, h2 := range []bool{true, false} {
		t.Run(fmt.Sprint("HTTP/2 ", h2), func(t *testing.T) {
			fake := fakegithub.New(t, fakegithub.Options{})
			srv := httptest.NewUnstartedServer(fake)
			srv.EnableHTTP2 = h2
			srv.StartTLS()
			t.Cleanup(srv.Close)
			hc := srv.Client()
			hc.Transport.(*http.Transport).ForceAttemptHTTP2 = h2
			gh, err := NewClient(hc, srv.URL+"/api/v3", fake.Token)
			if err != nil {
				t.Fatal(err)
			}
			var files []File
			for i := range 3 {
				data := fmt.Appendf(nil, "shared %d\n", i)
				files = append(files, File{Path: fmt.Sprintf("a/%d", i), Data: data}, File{Path: fmt.Sprintf("b/%d", i), Data: data})
			}
			var (
				mu             sync.Mutex
				arrived, inAir int
				most           int
			)
			fake.OnRequest(func(method, path string) {
				if method != http.MethodPost || !strings.HasSuffix(path, "/git/blobs") {
					return
				}
				mu.Lock()
				arrived++
				inAir++
				most = max(most, inAir)
				mu.Unlock()
				// Each blob waits a while for the others, if any come.
				for range 20 {
					mu.Lock()
					all := arrived == 3
					mu.Unlock()
					if all {
						break
					}
					time.Sleep(10 * time.Millisecond)
				}
				mu.Lock()
				inAir--
				mu.Unlock()
			})
			mustPublish(t, gh, opts(fake), files)
			mu.Lock()
			defer mu.Unlock()
			want := 1
			if h2 {
				want = 3
			}
			if arrived != 3 || most != want {
				t.Errorf("%d blobs sent, at most %d at once; want 3, %d at once", arrived, most, want)
			}
		})
	}
}
