package fakegithub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

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
			if raw, ok := body.(rawBody); ok {
				w.Header().Set("Content-Type", "application/vnd.github.raw")
				w.WriteHeader(status)
				_, _ = w.Write(raw)
				return
			}
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
