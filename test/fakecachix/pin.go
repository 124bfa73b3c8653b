package fakecachix

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
)

// Creating pins, as the cachix CLI's `cachix pin` does:
//
//	POST URL/api/v1/cache/NAME/pin   {"name", "storePath", "artifacts", "keep"}
//
// The body is checked as strictly as Cachix's decoder does ("artifacts" is a
// required array; "keep" is null, absent, {"tag":"Revisions"|"Days","contents":N}
// or {"tag":"Forever"}), and more: unknown fields are refused too, so that a
// client's typo fails a test rather than being ignored. Success is 200 with an
// empty body (Cachix's NoContent). A pin created again with any path gets the
// next revision.
//
// Writing needs "Authorization: Bearer T" where T is the write token
// (SetWriteToken), else the read token; with neither set every write answers
// 401, as Cachix does without a token even for a public cache.

// PinRequest is one POST …/pin the fake received, kept byte for byte so that
// tests can compare the wire format with golden files.
type PinRequest struct {
	Cache string
	Body  []byte
}

// pending is a pin change not yet shown by the list (see SetListLag).
type pending struct {
	cache string
	pin   cachix.Pin
	left  int
}

// SetWriteToken sets the token that POST …/pin requires ("" falls back to
// the read token).
func (s *Server) SetWriteToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writeToken = token
}

// SetListLag hides a pin created from now on from the first n list requests
// (GET …/pin) of its cache after its creation: Cachix shows new pins late.
// 0 shows them at once.
func (s *Server) SetListLag(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listLag = max(n, 0)
}

// FailPins makes the next n POST …/pin answer status (after the token check)
// without creating the pin: Cachix has been seen answering 500 to it.
func (s *Server) FailPins(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pinFaults, s.pinFault = max(n, 0), status
}

// PinRequests lists the accepted POST …/pin requests, oldest first.
func (s *Server) PinRequests() []PinRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PinRequest, len(s.pinRequests))
	for i, r := range s.pinRequests {
		out[i] = PinRequest{Cache: r.Cache, Body: slices.Clone(r.Body)}
	}
	return out
}

// Revisions lists every revision a pin was given through POST, oldest first.
func (s *Server) Revisions(cache, name string) []cachix.Revision {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.revisions[cache+"\x00"+name])
}

// pinCreate is the body of POST …/pin as Cachix decodes it.
type pinCreate struct {
	Name      *string         `json:"name"`
	StorePath *string         `json:"storePath"`
	Artifacts *[]string       `json:"artifacts"`
	Keep      json.RawMessage `json:"keep"`
}

type keep struct {
	Tag      string `json:"tag"`
	Contents *int   `json:"contents"`
}

// servePinCreate answers POST NAME/pin (escaped); it reports false for any
// other path, which the caller refuses.
func (s *Server) servePinCreate(w http.ResponseWriter, r *http.Request, rest string) bool {
	segs := strings.Split(rest, "/")
	if len(segs) != 2 || segs[1] != "pin" {
		return false
	}
	name, err := url.PathUnescape(segs[0])
	if err != nil {
		return false
	}
	s.mu.Lock()
	want := s.writeToken
	if want == "" {
		want = s.token
	}
	_, known := s.caches[name]
	authorized := want != "" && bearerOK(r, want)
	fail := 0
	if authorized && s.pinFaults > 0 {
		s.pinFaults--
		fail = s.pinFault
	}
	s.mu.Unlock()
	switch {
	case !authorized:
		writeJSONError(w, http.StatusUnauthorized, "Unauthorized: a token with write access to this cache is required")
		return true
	case fail != 0:
		writeJSONError(w, fail, "Something went wrong")
		return true
	case !known:
		writeJSONError(w, http.StatusNotFound, "Cache not found")
		return true
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return true
	}
	pin, err := decodePinCreate(body)
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, "Error in $: "+err.Error())
		return true
	}
	s.createPin(name, pin, body)
	w.WriteHeader(http.StatusOK)
	return true
}

func decodePinCreate(body []byte) (cachix.Pin, error) {
	var p pinCreate
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return cachix.Pin{}, err
	}
	if dec.More() {
		return cachix.Pin{}, errors.New("trailing data after the object")
	}
	switch {
	case p.Name == nil || *p.Name == "":
		return cachix.Pin{}, errors.New(`key "name" not found or empty`)
	case p.StorePath == nil || !strings.HasPrefix(*p.StorePath, "/nix/store/"):
		return cachix.Pin{}, errors.New(`key "storePath" not found or not a store path`)
	case p.Artifacts == nil:
		return cachix.Pin{}, errors.New(`key "artifacts" not found (an array is required)`)
	}
	if err := checkKeep(p.Keep); err != nil {
		return cachix.Pin{}, fmt.Errorf("keep: %w", err)
	}
	return cachix.Pin{Name: *p.Name, LastRevision: cachix.Revision{StorePath: *p.StorePath, Artifacts: slices.Clone(*p.Artifacts)}}, nil
}

func checkKeep(raw json.RawMessage) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var k keep
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&k); err != nil {
		return err
	}
	switch k.Tag {
	case "Revisions", "Days":
		if k.Contents == nil {
			return fmt.Errorf("tag %q needs contents", k.Tag)
		}
	case "Forever":
		if k.Contents != nil {
			return errors.New(`tag "Forever" takes no contents`)
		}
	default:
		return fmt.Errorf("unknown tag %q", k.Tag)
	}
	return nil
}

// createPin records a new revision of the pin, shown by the list now or after
// the lag.
func (s *Server) createPin(cache string, p cachix.Pin, body []byte) {
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000000Z")
	s.mu.Lock()
	defer s.mu.Unlock()
	key := cache + "\x00" + p.Name
	revs := s.revisions[key]
	old, seen := s.visiblePin(cache, p.Name)
	switch {
	case len(revs) > 0:
		p.LastRevision.Revision = revs[len(revs)-1].Revision + 1
	case seen:
		// A pin set by SetPins or SetCache counts as its own history.
		p.LastRevision.Revision = old.LastRevision.Revision + 1
	default:
		p.LastRevision.Revision = 1
	}
	p.LastRevision.CreatedOn = now
	p.CreatedOn = now
	if seen && old.CreatedOn != "" {
		p.CreatedOn = old.CreatedOn
	}
	if s.revisions == nil {
		s.revisions = map[string][]cachix.Revision{}
	}
	s.revisions[key] = append(revs, p.LastRevision)
	s.pinRequests = append(s.pinRequests, PinRequest{Cache: cache, Body: slices.Clone(body)})
	s.pending = append(s.pending, pending{cache: cache, pin: p, left: s.listLag})
	s.showPendingLocked(cache, false)
}

// visiblePin is the pin the list shows now. s.mu must be held.
func (s *Server) visiblePin(cache, name string) (cachix.Pin, bool) {
	if c, ok := s.caches[cache]; ok {
		for _, p := range c.Pins {
			if p.Name == name {
				return p, true
			}
		}
	}
	return cachix.Pin{}, false
}

// showPendingLocked moves the cache's pending pins whose lag is over into its
// list; a list request that finds the lag not over counts it down. s.mu must
// be held.
func (s *Server) showPendingLocked(cache string, listRequest bool) {
	c, ok := s.caches[cache]
	kept := s.pending[:0]
	for _, p := range s.pending {
		if p.cache != cache || !ok {
			kept = append(kept, p)
			continue
		}
		if p.left > 0 {
			if listRequest {
				p.left--
			}
			kept = append(kept, p)
			continue
		}
		i := slices.IndexFunc(c.Pins, func(q cachix.Pin) bool { return q.Name == p.pin.Name })
		if i < 0 {
			c.Pins = append(c.Pins, p.pin)
		} else {
			c.Pins[i] = p.pin
		}
	}
	s.pending = kept
}
