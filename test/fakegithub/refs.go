package fakegithub

import (
	"encoding/base64"
	"net/http"
	"strings"
)

// The refs endpoints: read, create, update (a fast-forward unless forced,
// then git's compare-and-swap) and delete.

func (s *Server) apiRepo() string {
	return s.URL + "/api/v3/repos/" + s.Owner + "/" + s.Repo
}

func (s *Server) refJSON(r *http.Request, ref, sha string) (refJSON, error) {
	typ, err := s.git.objectType(r.Context(), sha)
	if err != nil {
		return refJSON{}, err
	}
	return refJSON{
		Ref:    ref,
		NodeID: "REF_" + base64.RawURLEncoding.EncodeToString([]byte(ref)),
		URL:    s.apiRepo() + "/git/" + ref,
		Object: objectJSON{SHA: sha, Type: typ, URL: s.apiRepo() + "/git/" + typ + "s/" + sha},
	}, nil
}

// GET /repos/{o}/{r}/git/ref/{ref}: 404 unless the full name exists.
func (s *Server) getRef(r *http.Request) (int, any, error) {
	ref := "refs/" + r.PathValue("ref")
	if !s.git.validRef(r.Context(), ref) {
		return 0, nil, errorf(http.StatusNotFound, "Not Found")
	}
	sha, err := s.git.refSHA(r.Context(), ref)
	if err != nil {
		return 0, nil, err
	}
	if sha == "" {
		return 0, nil, errorf(http.StatusNotFound, "Not Found")
	}
	body, err := s.refJSON(r, ref, sha)
	return http.StatusOK, body, err
}

// checkTarget tells whether sha may be stored in ref: it must exist, and a
// branch may only point at a commit (git refuses anything else there).
func (s *Server) checkTarget(r *http.Request, ref, sha string) error {
	typ, err := s.git.objectType(r.Context(), sha)
	switch {
	case err != nil:
		return err
	case typ == "":
		return errorf(http.StatusUnprocessableEntity, "Object does not exist")
	case strings.HasPrefix(ref, "refs/heads/") && typ != "commit":
		return errorf(http.StatusUnprocessableEntity, "Object is not a commit")
	}
	return nil
}

// POST /repos/{o}/{r}/git/refs {"ref","sha"}: 422 if it already exists.
func (s *Server) createRef(r *http.Request) (int, any, error) {
	var in struct {
		Ref *string `json:"ref"`
		SHA *string `json:"sha"`
	}
	if err := decode(r, &in); err != nil {
		return 0, nil, err
	}
	if in.Ref == nil || in.SHA == nil {
		return 0, nil, errorf(http.StatusUnprocessableEntity, "Invalid request.\n\n\"ref\" and \"sha\" must be supplied.")
	}
	ref, sha := *in.Ref, *in.SHA
	if !strings.HasPrefix(ref, "refs/") || strings.Count(ref, "/") < 2 || !s.git.validRef(r.Context(), ref) {
		return 0, nil, errorf(http.StatusUnprocessableEntity, "Reference name is invalid")
	}
	if err := s.checkTarget(r, ref, sha); err != nil {
		return 0, nil, err
	}
	s.refMu.Lock()
	defer s.refMu.Unlock()
	cur, err := s.git.refSHA(r.Context(), ref)
	if err != nil {
		return 0, nil, err
	}
	if cur != "" {
		return 0, nil, errorf(http.StatusUnprocessableEntity, "Reference already exists")
	}
	if err := s.git.casRef(r.Context(), ref, sha, ""); err != nil {
		if exitCode(err) <= 0 {
			return 0, nil, err
		}
		if now, _ := s.git.refSHA(r.Context(), ref); now != "" {
			// Created behind the fake's back since we looked.
			return 0, nil, errorf(http.StatusUnprocessableEntity, "Reference already exists")
		}
		// E.g. refs/heads/a when refs/heads/a/b exists: git cannot store both.
		return 0, nil, errorf(http.StatusUnprocessableEntity, "Reference update failed")
	}
	body, err := s.refJSON(r, ref, sha)
	return http.StatusCreated, body, err
}

// PATCH /repos/{o}/{r}/git/refs/{ref} {"sha","force"}: a fast-forward
// unless forced, checked by git, then an atomic compare-and-swap.
func (s *Server) updateRef(r *http.Request) (int, any, error) {
	var in struct {
		SHA   *string `json:"sha"`
		Force *bool   `json:"force"`
	}
	if err := decode(r, &in); err != nil {
		return 0, nil, err
	}
	force := in.Force != nil && *in.Force
	if rec, ok := r.Context().Value(recorderKey{}).(*recorder); ok && force {
		rec.force = true
	}
	if in.SHA == nil {
		return 0, nil, errorf(http.StatusUnprocessableEntity, "Invalid request.\n\n\"sha\" wasn't supplied.")
	}
	ref, sha := "refs/"+r.PathValue("ref"), *in.SHA
	if !s.git.validRef(r.Context(), ref) {
		return 0, nil, errorf(http.StatusUnprocessableEntity, "Reference does not exist")
	}
	if err := s.checkTarget(r, ref, sha); err != nil {
		return 0, nil, err
	}
	s.refMu.Lock()
	defer s.refMu.Unlock()
	cur, err := s.git.refSHA(r.Context(), ref)
	if err != nil {
		return 0, nil, err
	}
	if cur == "" {
		return 0, nil, errorf(http.StatusUnprocessableEntity, "Reference does not exist")
	}
	if !force && cur != sha {
		ff, err := s.git.isAncestor(r.Context(), cur, sha)
		if err != nil {
			return 0, nil, err
		}
		if !ff {
			return 0, nil, errorf(http.StatusUnprocessableEntity, "Update is not a fast forward")
		}
	}
	if err := s.git.casRef(r.Context(), ref, sha, cur); err != nil {
		if exitCode(err) > 0 {
			// Moved behind the fake's back since we looked.
			return 0, nil, errorf(http.StatusUnprocessableEntity, "Update is not a fast forward")
		}
		return 0, nil, err
	}
	body, err := s.refJSON(r, ref, sha)
	return http.StatusOK, body, err
}

// DELETE /repos/{o}/{r}/git/refs/{ref}.
func (s *Server) deleteRef(r *http.Request) (int, any, error) {
	ref := "refs/" + r.PathValue("ref")
	s.refMu.Lock()
	defer s.refMu.Unlock()
	cur := ""
	if s.git.validRef(r.Context(), ref) {
		var err error
		if cur, err = s.git.refSHA(r.Context(), ref); err != nil {
			return 0, nil, err
		}
	}
	if cur == "" {
		return 0, nil, errorf(http.StatusUnprocessableEntity, "Reference does not exist")
	}
	if _, err := s.git.run(r.Context(), nil, "update-ref", "-d", ref, cur); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}
