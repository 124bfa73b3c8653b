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
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
// the authenticated user.
const (
	userName  = "fake-user"
	userEmail = "fake-user@users.noreply.github.com"
)

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

// recorder logs a request when its status is written, so the log holds it
// before the client can see the answer.
type recorder struct {
	http.ResponseWriter
	s      *Server
	entry  Request
	status int
	force  bool // set by the ref update handler
	logged int  // the entry's index in the log
	body   countingReader
	wrote  int64
	start  time.Time
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// countBytes reads what is left of the request body and puts both bodies'
// lengths in the log entry.
func (r *recorder) countBytes() {
	_, _ = io.Copy(io.Discard, &r.body)
	r.s.mu.Lock()
	e := &r.s.log[r.logged]
	e.RequestBytes, e.ResponseBytes, e.Took = r.body.n, r.wrote, time.Since(r.start)
	r.s.mu.Unlock()
}

// recorderKey finds the recorder in a request's context, for handlers that
// note something about the request (a forced update).
type recorderKey struct{}

func (r *recorder) WriteHeader(code int) {
	if r.status != 0 {
		return
	}
	r.status = code
	r.entry.Status, r.entry.Force = code, r.force
	r.s.mu.Lock()
	r.logged = len(r.s.log)
	r.s.log = append(r.s.log, r.entry)
	r.s.mu.Unlock()
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	n, err := r.ResponseWriter.Write(b)
	r.wrote += int64(n)
	return n, err
}

// ServeHTTP answers one request: the OnRequest hook, an injected failure,
// the token check, then the endpoint.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/api/v3")
	if path == "" {
		path = "/"
	}
	rec := &recorder{ResponseWriter: w, s: s, entry: Request{
		Method: r.Method, Path: path, Write: r.Method != http.MethodGet && r.Method != http.MethodHead,
	}, body: countingReader{r: r.Body}, start: time.Now()}
	r.Body = io.NopCloser(&rec.body)
	defer rec.countBytes()               // last: after the entry is logged, before the handler returns
	defer rec.WriteHeader(http.StatusOK) // records a request that wrote nothing

	s.mu.Lock()
	hook := s.onRequest
	s.mu.Unlock()
	if hook != nil {
		hook(r.Method, path) // first, so it may call FailNext for this request
	}
	if s.rateHeaders(rec, r) {
		return
	}
	s.mu.Lock()
	fail, failMsg := 0, ""
	if s.failLeft > 0 {
		s.failLeft--
		fail, failMsg = s.failCode, s.failMsg
	}
	s.mu.Unlock()
	if fail != 0 {
		if fail == http.StatusTooManyRequests {
			rec.Header().Set("Retry-After", "1")
		}
		writeError(rec, fail, failMsg, "https://docs.github.com/rest")
		return
	}

	switch token := bearer(r.Header.Get("Authorization")); {
	case token == "":
		writeError(rec, http.StatusUnauthorized, "Requires authentication", "https://docs.github.com/rest")
		return
	case token != s.Token && token != s.ReadOnlyToken:
		writeError(rec, http.StatusUnauthorized, "Bad credentials", "https://docs.github.com/rest")
		return
	case token == s.ReadOnlyToken && rec.entry.Write:
		writeError(rec, http.StatusForbidden, "Resource not accessible by integration", "https://docs.github.com/rest/git")
		return
	}

	r2 := r.Clone(context.WithValue(r.Context(), recorderKey{}, rec))
	r2.URL.Path = path
	r2.URL.RawPath = ""
	s.mux.ServeHTTP(rec, r2)
}

func faultMessage(code int) string {
	switch {
	case code == http.StatusTooManyRequests:
		return "API rate limit exceeded"
	case code >= 500:
		return "Server Error"
	default:
		return http.StatusText(code)
	}
}

// bearer returns the token of an "Authorization: Bearer T" or "token T" header.
func bearer(h string) string {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") && !strings.EqualFold(scheme, "token") {
		return ""
	}
	return strings.TrimSpace(token)
}

// apiError is an answer other than success, with GitHub's message.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.status, e.msg) }

func errorf(status int, format string, args ...any) *apiError {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

func writeError(w http.ResponseWriter, status int, msg, doc string) {
	writeJSON(w, status, map[string]string{
		"message":           msg,
		"documentation_url": doc,
		"status":            fmt.Sprint(status),
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// handler answers one endpoint: a status and a JSON body, or an error.
type handler func(r *http.Request) (int, any, error)

// route registers h under pattern, with the checks every Git Data endpoint
// shares: the repository exists, and is not empty.
func (s *Server) route(mux *http.ServeMux, pattern, doc string, h handler) {
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.PathValue("owner"), s.Owner) || !strings.EqualFold(r.PathValue("repo"), s.Repo) {
			writeError(w, http.StatusNotFound, "Not Found", doc)
			return
		}
		empty, err := s.git.isEmpty(r.Context())
		if err != nil {
			s.internalError(w, err)
			return
		}
		if empty {
			writeError(w, http.StatusConflict, "Git Repository is empty.", doc)
			return
		}
		status, body, err := h(r)
		var ae *apiError
		switch {
		case errors.As(err, &ae):
			writeError(w, ae.status, ae.msg, doc)
		case err != nil:
			s.internalError(w, err)
		case status == http.StatusNoContent:
			w.WriteHeader(status)
		default:
			writeJSON(w, status, body)
		}
	})
}

func (s *Server) internalError(w http.ResponseWriter, err error) {
	s.mu.Lock()
	s.internal = append(s.internal, err)
	s.mu.Unlock()
	writeError(w, http.StatusInternalServerError, "Server Error", "https://docs.github.com/rest")
}

func (s *Server) routes() *http.ServeMux {
	const git = "/repos/{owner}/{repo}/git/"
	const doc = "https://docs.github.com/rest/git/"
	mux := http.NewServeMux()
	s.route(mux, "GET "+git+"ref/{ref...}", doc+"refs#get-a-reference", s.getRef)
	s.route(mux, "POST "+git+"refs", doc+"refs#create-a-reference", s.createRef)
	s.route(mux, "PATCH "+git+"refs/{ref...}", doc+"refs#update-a-reference", s.updateRef)
	s.route(mux, "DELETE "+git+"refs/{ref...}", doc+"refs#delete-a-reference", s.deleteRef)
	s.route(mux, "POST "+git+"blobs", doc+"blobs#create-a-blob", s.createBlob)
	s.route(mux, "GET "+git+"blobs/{sha}", doc+"blobs#get-a-blob", s.getBlob)
	s.route(mux, "POST "+git+"trees", doc+"trees#create-a-tree", s.createTree)
	s.route(mux, "GET "+git+"trees/{sha}", doc+"trees#get-a-tree", s.getTree)
	s.route(mux, "POST "+git+"commits", doc+"commits#create-a-commit", s.createCommit)
	s.route(mux, "GET "+git+"commits/{sha}", doc+"commits#get-a-commit-object", s.getCommit)
	mux.HandleFunc("GET /repos/{owner}/{repo}", s.getRepository)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest")
	})
	return mux
}

// getRepository answers GET /repos/{owner}/{repo} with the fields publishers
// read; the default branch is the bare repository's HEAD, as on GitHub. Unlike
// the Git Data endpoints it answers for an empty repository too.
func (s *Server) getRepository(w http.ResponseWriter, r *http.Request) {
	const doc = "https://docs.github.com/rest/repos/repos#get-a-repository"
	if !strings.EqualFold(r.PathValue("owner"), s.Owner) || !strings.EqualFold(r.PathValue("repo"), s.Repo) {
		writeError(w, http.StatusNotFound, "Not Found", doc)
		return
	}
	head, err := s.git.line(r.Context(), nil, "symbolic-ref", "--short", "HEAD")
	if err != nil {
		s.internalError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"name":           s.Repo,
		"full_name":      s.Owner + "/" + s.Repo,
		"default_branch": head,
		"private":        false,
	})
}

// decode reads a JSON request body as GitHub does: a bad body is 400.
func decode(r *http.Request, v any) error {
	if err := json.NewDecoder(io.LimitReader(r.Body, 100<<20)).Decode(v); err != nil {
		return errorf(http.StatusBadRequest, "Problems parsing JSON")
	}
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
