package fakecachix

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
)

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	rest, ok := strings.CutPrefix(path, s.prefix)
	if !ok || !strings.HasPrefix(rest, "/") {
		rest = path
		ok = false
	}

	s.mu.Lock()
	s.requests = append(s.requests, r.Method+" "+rest)
	if r.Header.Get("Authorization") != "" {
		s.authorized = append(s.authorized, r.Method+" "+rest)
	}
	token := s.token
	var injected *fault
	switch {
	case ok && strings.HasPrefix(rest, "/api/") && s.faults > 0:
		s.faults--
		f := s.fault
		injected = &f
	case ok && strings.HasPrefix(rest, "/cache/") && s.cacheFaults > 0:
		s.cacheFaults--
		f := s.cacheFault
		injected = &f
	}
	s.mu.Unlock()

	if injected != nil {
		injectFault(w, *injected)
		return
	}
	if !ok {
		writeJSONError(w, http.StatusNotFound, "Not found")
		return
	}
	if r.Method == http.MethodPost {
		if api, ok := strings.CutPrefix(rest, "/api/v1/cache/"); ok && s.servePinCreate(w, r, api) {
			return
		}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeJSONError(w, http.StatusMethodNotAllowed, "Method not allowed")
		return
	}

	switch {
	case strings.HasPrefix(rest, "/api/v1/cache/"):
		if token != "" && !bearerOK(r, token) {
			writeJSONError(w, http.StatusUnauthorized, "Unauthorized: a valid auth token is required for this cache")
			return
		}
		s.serveAPI(w, strings.TrimPrefix(rest, "/api/v1/cache/"))
	case strings.HasPrefix(rest, "/cache/"):
		if token != "" && !bearerOK(r, token) && !basicOK(r, token) {
			w.Header().Set("WWW-Authenticate", `Basic realm="cachix"`)
			writeJSONError(w, http.StatusUnauthorized, "Unauthorized")
			return
		}
		s.serveBinaryCache(w, r, strings.TrimPrefix(rest, "/cache/"))
	default:
		writeJSONError(w, http.StatusNotFound, "Not found")
	}
}

// serveAPI answers NAME or NAME/pin (escaped).
func (s *Server) serveAPI(w http.ResponseWriter, rest string) {
	segs := strings.Split(rest, "/")
	name, err := url.PathUnescape(segs[0])
	if err != nil || len(segs) > 2 || len(segs) == 2 && segs[1] != "pin" {
		writeJSONError(w, http.StatusNotFound, "Not found")
		return
	}
	s.mu.Lock()
	c, ok := s.caches[name]
	var body []byte
	if ok && len(segs) == 2 {
		s.showPendingLocked(name, true)
		body, err = render("pins.json.tmpl", c.Pins)
	} else if ok {
		body, err = render("cache.json.tmpl", cacheWire{
			Name:                       c.Name,
			URI:                        s.CacheURL(c.Name),
			IsPublic:                   s.token == "",
			PublicSigningKeys:          c.PublicSigningKeys,
			GithubUsername:             "fakecachix",
			Permission:                 "Read",
			PreferredCompressionMethod: "ZSTD",
		})
	}
	s.mu.Unlock()
	switch {
	case !ok:
		writeJSONError(w, http.StatusNotFound, "Cache not found")
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
	default:
		writeBody(w, http.StatusOK, body)
	}
}

// fileName allows one safe path segment: no separators, no leading dot
// (so no "." or ".."), only characters found in binary cache file names.
var fileName = regexp.MustCompile(`^[A-Za-z0-9_+=-][A-Za-z0-9._+=-]*$`)

// serveBinaryCache answers NAME/FILE or NAME/DIR/FILE (escaped) from the
// cache's directory. Besides the name check, os.Root keeps symlinks inside.
func (s *Server) serveBinaryCache(w http.ResponseWriter, r *http.Request, rest string) {
	segs := strings.Split(rest, "/")
	name, err := url.PathUnescape(segs[0])
	if err != nil {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	c, ok := s.caches[name]
	var dir string
	if ok {
		dir = c.Dir
	}
	to := s.redirects[name]
	s.mu.Unlock()
	if !ok {
		http.Error(w, "Cache not found", http.StatusNotFound)
		return
	}
	file := segs[1:]
	if to != "" {
		http.Redirect(w, r, to+"/"+strings.Join(file, "/"), http.StatusTemporaryRedirect)
		return
	}
	if len(file) < 1 || len(file) > 2 {
		http.NotFound(w, r)
		return
	}
	for _, seg := range file {
		if !fileName.MatchString(seg) {
			http.NotFound(w, r)
			return
		}
	}
	rel := strings.Join(file, "/")
	w.Header().Set("Content-Type", contentType(rel))

	if dir != "" {
		served, err := serveFile(w, r, dir, rel)
		if served {
			return
		}
		if err != nil {
			// The test set up a bad folder: say so loudly.
			http.Error(w, "fakecachix: "+err.Error(), http.StatusInternalServerError)
			return
		}
	}
	if rel == "nix-cache-info" {
		http.ServeContent(w, r, rel, time.Time{}, strings.NewReader(CacheInfoFile))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	http.NotFound(w, r)
}

// serveFile serves dir/rel if it is a regular file inside dir.
func serveFile(w http.ResponseWriter, r *http.Request, dir, rel string) (bool, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return false, err
	}
	defer root.Close()
	f, err := root.Open(rel)
	if err != nil {
		// Missing, or a symlink leading out of dir: either way not served.
		return false, nil
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false, err
	}
	if !st.Mode().IsRegular() {
		return false, nil
	}
	http.ServeContent(w, r, rel, st.ModTime(), f)
	return true, nil
}

func contentType(rel string) string {
	switch {
	case rel == "nix-cache-info":
		return "text/x-nix-cache-info"
	case strings.HasSuffix(rel, ".narinfo"):
		return "text/x-nix-narinfo"
	case strings.HasPrefix(rel, "nar/"):
		return "application/x-nix-nar"
	case strings.HasSuffix(rel, ".ls"):
		return "application/json"
	}
	return "application/octet-stream"
}

func injectFault(w http.ResponseWriter, f fault) {
	if f.status == Disconnect {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler) // closes the connection too
	}
	if f.retryAfter != "" {
		w.Header().Set("Retry-After", f.retryAfter)
	}
	writeJSONError(w, f.status, "Injected failure ("+strconv.Itoa(f.status)+")")
}

func bearerOK(r *http.Request, token string) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}

func basicOK(r *http.Request, token string) bool {
	_, pass, ok := r.BasicAuth()
	return ok && subtle.ConstantTimeCompare([]byte(pass), []byte(token)) == 1
}

func clonePins(pins []cachix.Pin) []cachix.Pin {
	if pins == nil {
		return nil
	}
	out := make([]cachix.Pin, len(pins))
	for i, p := range pins {
		p.LastRevision.Artifacts = slices.Clone(p.LastRevision.Artifacts)
		out[i] = p
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeBody(w, status, data)
}

func writeBody(w http.ResponseWriter, status int, data []byte) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
