package fakegithub

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v60/github"
)

func client(t *testing.T, s *Server, token string) *github.Client {
	t.Helper()
	gh, err := github.NewClient(nil).WithAuthToken(token).WithEnterpriseURLs(s.APIURL(), s.APIURL())
	if err != nil {
		t.Fatal(err)
	}
	return gh
}

func setup(t *testing.T, o Options) (*Server, *github.Client) {
	t.Helper()
	s := New(t, o)
	t.Cleanup(func() {
		for _, err := range s.InternalErrors() {
			t.Errorf("fake failed: %v", err)
		}
	})
	return s, client(t, s, s.Token)
}

// wantStatus checks that err is GitHub's answer status with message msg.
func wantStatus(t *testing.T, err error, status int, msg string) {
	t.Helper()
	var er *github.ErrorResponse
	if !errors.As(err, &er) {
		t.Fatalf("error = %v, want %d %q", err, status, msg)
	}
	if er.Response.StatusCode != status || er.Message != msg {
		t.Errorf("answer = %d %q, want %d %q", er.Response.StatusCode, er.Message, status, msg)
	}
	if er.DocumentationURL == "" {
		t.Error("answer has no documentation_url")
	}
}

// commit makes a commit through the API: files (inline content) on top of parents.
func commit(t *testing.T, gh *github.Client, files map[string]string, parents ...string) string {
	t.Helper()
	ctx := context.Background()
	var entries []*github.TreeEntry
	for p, c := range files {
		entries = append(entries, &github.TreeEntry{Path: github.String(p), Mode: github.String("100644"), Type: github.String("blob"), Content: github.String(c)})
	}
	tree, _, err := gh.Git.CreateTree(ctx, "owner", "repo", "", entries)
	if err != nil {
		t.Fatal(err)
	}
	c := &github.Commit{Message: github.String("m"), Tree: tree}
	for _, p := range parents {
		c.Parents = append(c.Parents, &github.Commit{SHA: github.String(p)})
	}
	made, _, err := gh.Git.CreateCommit(ctx, "owner", "repo", c, nil)
	if err != nil {
		t.Fatal(err)
	}
	return made.GetSHA()
}

func ref(sha string) *github.Reference {
	return &github.Reference{Ref: github.String("refs/heads/pins"), Object: &github.GitObject{SHA: github.String(sha)}}
}

func TestRefs(t *testing.T) {
	s, gh := setup(t, Options{})
	ctx := context.Background()

	_, _, err := gh.Git.GetRef(ctx, "owner", "repo", "heads/pins")
	wantStatus(t, err, http.StatusNotFound, "Not Found")

	root := commit(t, gh, map[string]string{"a": "1"})
	if _, _, err := gh.Git.CreateRef(ctx, "owner", "repo", ref(root)); err != nil {
		t.Fatal(err)
	}
	_, _, err = gh.Git.CreateRef(ctx, "owner", "repo", ref(root))
	wantStatus(t, err, http.StatusUnprocessableEntity, "Reference already exists")

	got, _, err := gh.Git.GetRef(ctx, "owner", "repo", "heads/pins")
	if err != nil || got.GetObject().GetSHA() != root || got.GetObject().GetType() != "commit" || got.GetRef() != "refs/heads/pins" {
		t.Fatalf("GetRef = %+v, %v", got, err)
	}

	child := commit(t, gh, map[string]string{"a": "2"}, root)
	sibling := commit(t, gh, map[string]string{"a": "3"}, root)
	if _, _, err := gh.Git.UpdateRef(ctx, "owner", "repo", ref(child), false); err != nil {
		t.Fatalf("fast-forward: %v", err)
	}
	_, _, err = gh.Git.UpdateRef(ctx, "owner", "repo", ref(sibling), false)
	wantStatus(t, err, http.StatusUnprocessableEntity, "Update is not a fast forward")
	_, _, err = gh.Git.UpdateRef(ctx, "owner", "repo", ref(root), false) // backwards
	wantStatus(t, err, http.StatusUnprocessableEntity, "Update is not a fast forward")
	_, _, err = gh.Git.UpdateRef(ctx, "owner", "repo", ref(strings.Repeat("ab", 20)), false)
	wantStatus(t, err, http.StatusUnprocessableEntity, "Object does not exist")
	if s.ForcedUpdates() != 0 {
		t.Error("forced updates counted before any")
	}
	if _, _, err := gh.Git.UpdateRef(ctx, "owner", "repo", ref(sibling), true); err != nil {
		t.Fatalf("forced update: %v", err)
	}
	if s.ForcedUpdates() != 1 {
		t.Errorf("ForcedUpdates = %d, want 1", s.ForcedUpdates())
	}
	if head, _ := s.Git("rev-parse", "pins"); head != sibling {
		t.Errorf("pins = %s, want %s", head, sibling)
	}

	other := &github.Reference{Ref: github.String("refs/heads/gone"), Object: &github.GitObject{SHA: github.String(root)}}
	_, _, err = gh.Git.UpdateRef(ctx, "owner", "repo", other, false)
	wantStatus(t, err, http.StatusUnprocessableEntity, "Reference does not exist")

	if _, err := gh.Git.DeleteRef(ctx, "owner", "repo", "heads/pins"); err != nil {
		t.Fatal(err)
	}
	_, _, err = gh.Git.GetRef(ctx, "owner", "repo", "heads/pins")
	wantStatus(t, err, http.StatusNotFound, "Not Found")
}

func TestTreesBlobsCommits(t *testing.T) {
	s, gh := setup(t, Options{})
	ctx := context.Background()

	blob, _, err := gh.Git.CreateBlob(ctx, "owner", "repo", &github.Blob{Content: github.String("AP8="), Encoding: github.String("base64")})
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := gh.Git.GetBlob(ctx, "owner", "repo", blob.GetSHA())
	if err != nil || got.GetEncoding() != "base64" || strings.TrimSpace(got.GetContent()) != "AP8=" || got.GetSize() != 2 {
		t.Fatalf("GetBlob = %+v, %v", got, err)
	}

	base, _, err := gh.Git.CreateTree(ctx, "owner", "repo", "", []*github.TreeEntry{
		{Path: github.String("keep"), Mode: github.String("100644"), Type: github.String("blob"), Content: github.String("k")},
		{Path: github.String("data/shards/0.json"), Mode: github.String("100644"), Type: github.String("blob"), Content: github.String("{}")},
		{Path: github.String("data/old"), Mode: github.String("100644"), Type: github.String("blob"), Content: github.String("o")},
		{Path: github.String("bin/x"), Mode: github.String("100755"), Type: github.String("blob"), SHA: blob.SHA},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Edit on top of the base: delete one file (sha null), add one.
	edited, _, err := gh.Git.CreateTree(ctx, "owner", "repo", base.GetSHA(), []*github.TreeEntry{
		{Path: github.String("data/old"), Mode: github.String("100644"), Type: github.String("blob")},
		{Path: github.String("data/new"), Mode: github.String("100644"), Type: github.String("blob"), Content: github.String("n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	ls, err := s.Git("ls-tree", "-r", "--name-only", edited.GetSHA())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"keep", "data/shards/0.json", "data/new", "bin/x"} {
		if !strings.Contains(ls, want) {
			t.Errorf("tree lacks %s:\n%s", want, ls)
		}
	}
	if strings.Contains(ls, "data/old") {
		t.Errorf("tree still has data/old:\n%s", ls)
	}

	rec, _, err := gh.Git.GetTree(ctx, "owner", "repo", edited.GetSHA(), true)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range rec.Entries {
		paths = append(paths, e.GetType()+" "+e.GetMode()+" "+e.GetPath())
	}
	want := []string{"tree 040000 bin", "blob 100755 bin/x", "tree 040000 data", "blob 100644 data/new", "tree 040000 data/shards", "blob 100644 data/shards/0.json", "blob 100644 keep"}
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Errorf("recursive tree (-want +got):\n%s", diff)
	}

	when := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	who := &github.CommitAuthor{Name: github.String("A"), Email: github.String("a@example.com"), Date: &github.Timestamp{Time: when}}
	made, _, err := gh.Git.CreateCommit(ctx, "owner", "repo", &github.Commit{
		Message: github.String("msg\n\nbody\n"), Tree: edited, Author: who,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := gh.Git.GetCommit(ctx, "owner", "repo", made.GetSHA())
	if err != nil {
		t.Fatal(err)
	}
	if c.GetMessage() != "msg\n\nbody\n" || c.GetTree().GetSHA() != edited.GetSHA() || len(c.Parents) != 0 ||
		!c.GetAuthor().GetDate().Time.Equal(when) || c.GetCommitter().GetName() != "A" {
		t.Errorf("GetCommit = %+v", c)
	}
	if typ, _ := s.Git("cat-file", "-t", made.GetSHA()); typ != "commit" {
		t.Errorf("git sees a %q", typ)
	}

	// Errors.
	_, _, err = gh.Git.GetCommit(ctx, "owner", "repo", blob.GetSHA())
	wantStatus(t, err, http.StatusNotFound, "Not Found")
	_, _, err = gh.Git.CreateTree(ctx, "owner", "repo", "", []*github.TreeEntry{
		{Path: github.String("../x"), Mode: github.String("100644"), Type: github.String("blob"), Content: github.String("x")},
	})
	wantStatus(t, err, http.StatusUnprocessableEntity, "tree.path contains a malformed path component")
	_, _, err = gh.Git.CreateCommit(ctx, "owner", "repo", &github.Commit{
		Message: github.String("m"), Tree: edited, Parents: []*github.Commit{{SHA: blob.SHA}},
	}, nil)
	wantStatus(t, err, http.StatusUnprocessableEntity, "Parent SHA does not exist or is not a commit object")
}

// TestRecursiveTreeTruncated: past the limit a recursive listing is cut
// short and says so, as GitHub's does; a listing of one level is not cut.
func TestRecursiveTreeTruncated(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		limit     int
		recursive bool
		entries   int
		truncated bool
	}{
		{limit: 0, recursive: true, entries: 6},
		{limit: 6, recursive: true, entries: 6},
		{limit: 5, recursive: true, entries: 5, truncated: true},
		{limit: 1, recursive: false, entries: 3},
	} {
		_, gh := setup(t, Options{TreeLimit: tt.limit})
		// Recursively: a, d, d/b, d/e, d/e/c, z; at the top: a, d, z.
		sha := commit(t, gh, map[string]string{"a": "1", "d/b": "2", "d/e/c": "3", "z": "4"})
		got, _, err := gh.Git.GetTree(ctx, "owner", "repo", sha, tt.recursive)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Entries) != tt.entries || got.GetTruncated() != tt.truncated {
			t.Errorf("limit %d, recursive %v: %d entries, truncated %v; want %d, %v",
				tt.limit, tt.recursive, len(got.Entries), got.GetTruncated(), tt.entries, tt.truncated)
		}
	}
}

func TestAuthAndModes(t *testing.T) {
	ctx := context.Background()
	s, _ := setup(t, Options{})
	_, _, err := client(t, s, "wrong").Git.GetRef(ctx, "owner", "repo", "heads/main")
	wantStatus(t, err, http.StatusUnauthorized, "Bad credentials")

	ro := client(t, s, s.ReadOnlyToken)
	if _, _, err := ro.Git.GetRef(ctx, "owner", "repo", "heads/main"); err != nil {
		t.Errorf("read-only token cannot read: %v", err)
	}
	_, _, err = ro.Git.CreateBlob(ctx, "owner", "repo", &github.Blob{Content: github.String("x")})
	wantStatus(t, err, http.StatusForbidden, "Resource not accessible by integration")

	_, _, err = client(t, s, s.Token).Git.GetRef(ctx, "owner", "other", "heads/main")
	wantStatus(t, err, http.StatusNotFound, "Not Found")

	empty, gh := setup(t, Options{Empty: true})
	_, _, err = gh.Git.GetRef(ctx, "owner", "repo", "heads/pins")
	wantStatus(t, err, http.StatusConflict, "Git Repository is empty.")
	if out, _ := empty.Git("for-each-ref"); out != "" {
		t.Errorf("empty repository has refs: %s", out)
	}

	reads, writes := s.Counts()
	if reads != 3 || writes != 1 {
		t.Errorf("Counts = %d reads, %d writes; want 3, 1", reads, writes)
	}
}

func TestNoToken(t *testing.T) {
	s, _ := setup(t, Options{})
	gh, err := github.NewClient(nil).WithEnterpriseURLs(s.APIURL(), s.APIURL())
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = gh.Git.GetRef(context.Background(), "owner", "repo", "heads/main")
	wantStatus(t, err, http.StatusUnauthorized, "Requires authentication")
}

func TestFailNext(t *testing.T) {
	s, gh := setup(t, Options{})
	s.FailNext(2, http.StatusBadGateway)
	for range 2 {
		_, _, err := gh.Git.GetRef(context.Background(), "owner", "repo", "heads/main")
		wantStatus(t, err, http.StatusBadGateway, "Server Error")
	}
	if _, _, err := gh.Git.GetRef(context.Background(), "owner", "repo", "heads/main"); err != nil {
		t.Errorf("third request: %v", err)
	}
	var statuses []int
	for _, r := range s.Requests() {
		statuses = append(statuses, r.Status)
	}
	if diff := cmp.Diff([]int{502, 502, 200}, statuses); diff != "" {
		t.Errorf("logged statuses (-want +got):\n%s", diff)
	}
}

// TestConcurrentUpdates: many clients update the same ref from the same
// head; exactly one wins, the rest get 422, and none is lost or merged.
func TestConcurrentUpdates(t *testing.T) {
	const n = 12
	s, gh := setup(t, Options{})
	ctx := context.Background()
	root := commit(t, gh, map[string]string{"a": "root"})
	if _, _, err := gh.Git.CreateRef(ctx, "owner", "repo", ref(root)); err != nil {
		t.Fatal(err)
	}
	children := make([]string, n)
	for i := range n {
		children[i] = commit(t, gh, map[string]string{"a": strings.Repeat("x", i+1)}, root)
	}
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, _, errs[i] = gh.Git.UpdateRef(ctx, "owner", "repo", ref(children[i]), false)
		}()
	}
	close(start)
	wg.Wait()
	won := -1
	for i, err := range errs {
		if err == nil {
			if won >= 0 {
				t.Errorf("both %d and %d won", won, i)
			}
			won = i
			continue
		}
		wantStatus(t, err, http.StatusUnprocessableEntity, "Update is not a fast forward")
	}
	if won < 0 {
		t.Fatal("nobody won")
	}
	if head, _ := s.Git("rev-parse", "pins"); head != children[won] {
		t.Errorf("pins = %s, want the winner %s", head, children[won])
	}
}

// TestRequestsCountBodies: the log holds each body's length as it went over
// the wire and the time the fake took, answers and errors alike, for the
// branch-publish benchmark.
func TestRequestsCountBodies(t *testing.T) {
	s, _ := setup(t, Options{})
	for _, tt := range []struct {
		name, method, path, token, body string
	}{
		{"blob", http.MethodPost, "/repos/owner/repo/git/blobs", s.Token, `{"content":"hello","encoding":"utf-8"}`},
		{"ref", http.MethodGet, "/repos/owner/repo/git/ref/heads/main", s.Token, ""},
		{"missing ref", http.MethodGet, "/repos/owner/repo/git/ref/heads/none", s.Token, ""},
		{"bad token, body unread", http.MethodPost, "/repos/owner/repo/git/blobs", "wrong", `{"content":"x"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, s.APIURL()+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+tt.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			answer, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || len(answer) == 0 {
				t.Fatalf("answer %q, %v", answer, err)
			}
			log := s.Requests()
			got := log[len(log)-1]
			if got.RequestBytes != int64(len(tt.body)) || got.ResponseBytes != int64(len(answer)) {
				t.Errorf("logged %d bytes in, %d out; want %d, %d", got.RequestBytes, got.ResponseBytes, len(tt.body), len(answer))
			}
			if got.Took <= 0 {
				t.Errorf("logged no time taken: %v", got.Took)
			}
		})
	}
}
