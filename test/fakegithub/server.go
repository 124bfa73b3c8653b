// Package fakegithub is a local stand-in for GitHub's Git Data API (refs,
// blobs, trees, commits) for tests, backed by a real bare git repository:
// objects are written and read by the git program, fast-forward checks use
// `git merge-base --is-ancestor`, and ref updates are git's own atomic
// compare-and-swap (`git update-ref REF NEW OLD`). Answers use GitHub's
// status codes and JSON error bodies, and the server can play a repository
// that is empty, a token that is wrong or read-only, and failing requests.
// Every answer carries GitHub's X-RateLimit-* headers; LimitNext answers with
// a primary or secondary rate limit or a 429 as GitHub words them, and
// RedirectNext redirects to a Mirror, another origin that records the
// Authorization headers it gets (see limits.go).
//
// It listens on 127.0.0.1 only. Point go-github at APIURL (it serves under
// /api/v3, like GitHub Enterprise, and at the root too).
package fakegithub

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Default tokens: Token may write, ReadOnlyToken may only read.
const (
	DefaultToken         = "fake-write-token"
	DefaultReadOnlyToken = "fake-read-only-token"
)

// Identity used for commits whose request names no author, as GitHub uses
// the authenticated one: the tokens are an Actions run's GITHUB_TOKEN.
const (
	userName  = "github-actions[bot]"
	userEmail = "41898282+github-actions[bot]@users.noreply.github.com"
)

// webFlowSignature is the signature the fake gives a commit made with no
// author, committer or signature, as GitHub signs a bot's commit with its
// own key; commits carrying it are verified.
const webFlowSignature = "-----BEGIN PGP SIGNATURE-----\n\nfakegithub-web-flow\n-----END PGP SIGNATURE-----"

// Options configure a Server. Zero values give owner "owner", repository
// "repo", the default tokens, and a repository with one commit on main.
type Options struct {
	Owner, Repo   string
	Token         string // may read and write
	ReadOnlyToken string // writes answer 403, as a token without contents: write
	// Empty leaves the repository without any commit; GitHub then answers
	// every Git Data request with 409 "Git Repository is empty.".
	Empty bool
	// TreeLimit is how many entries a recursive tree listing holds before
	// it is cut short with "truncated": true; 0 is GitHub's 100,000.
	TreeLimit int
}

// Request is one request as the server saw it.
type Request struct {
	Method string
	Path   string // without the /api/v3 prefix
	Status int
	Write  bool // not GET or HEAD
	Force  bool // a ref update asking for force=true
	// RequestBytes and ResponseBytes are the bodies' lengths, as sent on the
	// wire (headers not counted), and Took the time the fake spent answering;
	// recorded before the answer's end leaves.
	RequestBytes, ResponseBytes int64
	Took                        time.Duration
}

// Server is a running fake. Its methods are safe for concurrent use.
type Server struct {
	URL           string // http://127.0.0.1:PORT
	GitDir        string // the bare repository, e.g. for `git clone --branch pins`
	Owner, Repo   string
	Token         string
	ReadOnlyToken string

	treeLimit int // entries of a recursive listing, as Options.TreeLimit

	srv *httptest.Server
	git *gitRepo
	mux *http.ServeMux

	// refMu serialises ref writes inside the fake; git's update-ref with the
	// old value is still the compare-and-swap, so writers that bypass the
	// fake (tests running git) are caught too.
	refMu sync.Mutex

	limits limits // rate limits and redirects, with a lock of its own

	mu        sync.Mutex // guards the fields below
	log       []Request
	failLeft  int
	failCode  int
	failMsg   string
	onRequest func(method, path string)
	internal  []error
}

// HaveGit reports whether the git program is installed.
func HaveGit() bool {
	_, err := exec.LookPath("git")
	return err == nil
}

// New starts a server for a test, in a temporary folder, closed when the
// test ends. It skips the test when git is not installed.
func New(tb testing.TB, opts Options) *Server {
	tb.Helper()
	if !HaveGit() {
		tb.Skip("fakegithub needs the git program, which is not installed")
	}
	s, err := Start(tb.TempDir(), opts)
	if err != nil {
		tb.Fatalf("starting fake GitHub: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Start creates the bare repository under dir and starts serving.
func Start(dir string, opts Options) (*Server, error) {
	s := &Server{
		Owner:         orDefault(opts.Owner, "owner"),
		Repo:          orDefault(opts.Repo, "repo"),
		Token:         orDefault(opts.Token, DefaultToken),
		ReadOnlyToken: orDefault(opts.ReadOnlyToken, DefaultReadOnlyToken),
		treeLimit:     opts.TreeLimit,
	}
	if s.treeLimit <= 0 {
		s.treeLimit = githubTreeLimit
	}
	s.GitDir = filepath.Join(dir, s.Owner, s.Repo+".git")
	if err := os.MkdirAll(s.GitDir, 0o755); err != nil {
		return nil, err
	}
	s.git = newGitRepo(s.GitDir)
	ctx := context.Background()
	if _, err := s.git.run(ctx, nil, "init", "--bare", "--quiet", "--initial-branch=main"); err != nil {
		return nil, err
	}
	if !opts.Empty {
		if err := s.seed(ctx); err != nil {
			return nil, fmt.Errorf("seeding repository: %w", err)
		}
	}
	s.mux = s.routes()
	s.srv = httptest.NewServer(s) // binds 127.0.0.1
	s.URL = s.srv.URL
	return s, nil
}

// seed gives the repository one commit on main, as a repository created
// with a README has.
func (s *Server) seed(ctx context.Context) error {
	blob, err := s.git.writeBlob(ctx, []byte("# "+s.Repo+"\n"))
	if err != nil {
		return err
	}
	tree, err := s.git.line(ctx, []byte("100644 blob "+blob+"\tREADME.md\x00"), "mktree", "-z")
	if err != nil {
		return err
	}
	body := fmt.Sprintf("tree %s\nauthor %s <%s> 1700000000 +0000\ncommitter %[2]s <%[3]s> 1700000000 +0000\n\nInitial commit\n", tree, userName, userEmail)
	commit, err := s.git.line(ctx, []byte(body), "hash-object", "-t", "commit", "-w", "--stdin")
	if err != nil {
		return err
	}
	return s.git.casRef(ctx, "refs/heads/main", commit, "")
}

// Close stops the server. The repository stays until its folder is removed.
func (s *Server) Close() { s.srv.Close() }

// APIURL is the base URL to give go-github (GitHub Enterprise style).
func (s *Server) APIURL() string { return s.URL + "/api/v3" }

// Git runs git on the bare repository and returns its trimmed output, for
// tests to make or inspect history behind the API's back.
func (s *Server) Git(args ...string) (string, error) {
	return s.git.line(context.Background(), nil, args...)
}

// FailNext makes the next n requests answer status (e.g. 502, 429) without
// doing anything.
func (s *Server) FailNext(n, status int) { s.FailNextWith(n, status, faultMessage(status)) }

// FailNextWith is FailNext answering message as GitHub's message: any text, as
// a broken or hostile server may send.
func (s *Server) FailNextWith(n, status int, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failLeft, s.failCode, s.failMsg = n, status, message
}

// OnRequest sets a function called at the start of every request, before
// anything else happens; it may itself make requests to the server.
func (s *Server) OnRequest(fn func(method, path string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onRequest = fn
}

// Requests returns the requests answered so far, in the order answered.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// Counts returns how many reads and writes were answered so far.
func (s *Server) Counts() (reads, writes int) {
	for _, r := range s.Requests() {
		if r.Write {
			writes++
		} else {
			reads++
		}
	}
	return reads, writes
}

// ForcedUpdates counts ref updates that asked for force=true.
func (s *Server) ForcedUpdates() int {
	n := 0
	for _, r := range s.Requests() {
		if r.Force {
			n++
		}
	}
	return n
}

// InternalErrors returns failures of the fake itself (answered as 500),
// which a test should treat as a bug.
func (s *Server) InternalErrors() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.internal...)
}
