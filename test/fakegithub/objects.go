package fakegithub

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// JSON shapes of GitHub's answers (only the fields a client may read).
type (
	objectJSON struct {
		SHA  string `json:"sha"`
		Type string `json:"type"`
		URL  string `json:"url"`
	}
	refJSON struct {
		Ref    string     `json:"ref"`
		NodeID string     `json:"node_id"`
		URL    string     `json:"url"`
		Object objectJSON `json:"object"`
	}
	personJSON struct {
		Name  string `json:"name"`
		Email string `json:"email"`
		Date  string `json:"date"`
	}
	shaURL struct {
		SHA     string `json:"sha"`
		URL     string `json:"url"`
		HTMLURL string `json:"html_url,omitempty"`
	}
	commitJSON struct {
		SHA          string           `json:"sha"`
		NodeID       string           `json:"node_id"`
		URL          string           `json:"url"`
		HTMLURL      string           `json:"html_url"`
		Author       personJSON       `json:"author"`
		Committer    personJSON       `json:"committer"`
		Tree         shaURL           `json:"tree"`
		Message      string           `json:"message"`
		Parents      []shaURL         `json:"parents"`
		Verification verificationJSON `json:"verification"`
	}
	verificationJSON struct {
		Verified  bool    `json:"verified"`
		Reason    string  `json:"reason"`
		Signature *string `json:"signature"`
		Payload   *string `json:"payload"`
	}
	treeEntryJSON struct {
		Path string `json:"path"`
		Mode string `json:"mode"`
		Type string `json:"type"`
		SHA  string `json:"sha"`
		Size *int64 `json:"size,omitempty"`
		URL  string `json:"url"`
	}
	treeJSON struct {
		SHA       string          `json:"sha"`
		URL       string          `json:"url"`
		Tree      []treeEntryJSON `json:"tree"`
		Truncated bool            `json:"truncated"`
	}
)

// POST /repos/{o}/{r}/git/blobs {"content","encoding"}.
func (s *Server) createBlob(r *http.Request) (int, any, error) {
	var in struct {
		Content  *string `json:"content"`
		Encoding string  `json:"encoding"`
	}
	if err := decode(r, &in); err != nil {
		return 0, nil, err
	}
	if in.Content == nil {
		return 0, nil, errorf(http.StatusUnprocessableEntity, "Invalid request.\n\n\"content\" wasn't supplied.")
	}
	data, err := blobContent(*in.Content, in.Encoding)
	if err != nil {
		return 0, nil, err
	}
	sha, err := s.git.writeBlob(r.Context(), data)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, shaURL{SHA: sha, URL: s.apiRepo() + "/git/blobs/" + sha}, nil
}

func blobContent(content, encoding string) ([]byte, error) {
	switch strings.ToLower(encoding) {
	case "", "utf-8", "utf8":
		return []byte(content), nil
	case "base64":
		// GitHub's own base64 is wrapped in lines; accept whitespace.
		data, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(content), ""))
		if err != nil {
			return nil, errorf(http.StatusUnprocessableEntity, "Invalid request.\n\nThe content is not valid Base64.")
		}
		return data, nil
	default:
		return nil, errorf(http.StatusUnprocessableEntity, "Invalid request.\n\nencoding %q is not a member of [\"utf-8\", \"base64\"].", encoding)
	}
}

// rawBody is an answer sent as it is, as GitHub sends a blob asked for
// with a raw media type.
type rawBody []byte

// wantsRaw reports whether accept asks for GitHub's raw media type
// (application/vnd.github.raw, .raw+json, or the older .v3.raw).
func wantsRaw(accept string) bool {
	for _, t := range strings.Split(accept, ",") {
		t, _, _ = strings.Cut(strings.TrimSpace(t), ";")
		switch t {
		case "application/vnd.github.raw", "application/vnd.github.raw+json", "application/vnd.github.v3.raw":
			return true
		}
	}
	return false
}

// GET /repos/{o}/{r}/git/blobs/{sha}: content in base64, in 60-char lines,
// or the bytes alone when the Accept header asks for the raw media type.
func (s *Server) getBlob(r *http.Request) (int, any, error) {
	sha := r.PathValue("sha")
	typ, err := s.git.objectType(r.Context(), sha)
	if err != nil {
		return 0, nil, err
	}
	if typ != "blob" {
		return 0, nil, errorf(http.StatusNotFound, "Not Found")
	}
	data, err := s.git.run(r.Context(), nil, "cat-file", "blob", sha)
	if err != nil {
		return 0, nil, err
	}
	if wantsRaw(r.Header.Get("Accept")) {
		return http.StatusOK, rawBody(data), nil
	}
	enc := base64.StdEncoding.EncodeToString(data)
	var lines strings.Builder
	for len(enc) > 60 {
		lines.WriteString(enc[:60] + "\n")
		enc = enc[60:]
	}
	lines.WriteString(enc + "\n")
	return http.StatusOK, map[string]any{
		"sha": sha, "node_id": "B_" + sha, "size": len(data), "url": s.apiRepo() + "/git/blobs/" + sha,
		"content": lines.String(), "encoding": "base64",
	}, nil
}

// githubTreeLimit is the most entries GitHub lists in a recursive tree
// (it also stops at 7 MB of answer, which the fake does not model).
const githubTreeLimit = 100_000

// GET /repos/{o}/{r}/git/trees/{sha}[?recursive=…]. {sha} may be a tree, a
// commit (its tree) or a branch name, as on GitHub; the answer's sha is the
// tree's. (GitHub has been seen echoing a commit id there, so a client
// should not rely on it when passing a commit.)
func (s *Server) getTree(r *http.Request) (int, any, error) {
	tree, err := s.resolveTree(r, r.PathValue("sha"))
	if err != nil {
		return 0, nil, err
	}
	// GitHub recurses for any value of the parameter, even "0" or "false".
	body, err := s.treeJSON(r, tree, r.URL.Query().Has("recursive"))
	return http.StatusOK, body, err
}

func (s *Server) resolveTree(r *http.Request, name string) (string, error) {
	ctx := r.Context()
	if !isSHA(name) {
		ref := "refs/heads/" + name
		if !s.git.validRef(ctx, ref) {
			return "", errorf(http.StatusNotFound, "Not Found")
		}
		sha, err := s.git.refSHA(ctx, ref)
		if err != nil || sha == "" {
			return "", orNotFound(err)
		}
		name = sha
	}
	typ, err := s.git.objectType(ctx, name)
	switch {
	case err != nil:
		return "", err
	case typ == "tree":
		return name, nil
	case typ == "commit":
		return s.git.line(ctx, nil, "rev-parse", "--verify", name+"^{tree}")
	default:
		return "", errorf(http.StatusNotFound, "Not Found")
	}
}

func orNotFound(err error) error {
	if err != nil {
		return err
	}
	return errorf(http.StatusNotFound, "Not Found")
}

func (s *Server) treeJSON(r *http.Request, tree string, recursive bool) (treeJSON, error) {
	entries, err := s.git.lsTree(r.Context(), tree, recursive)
	if err != nil {
		return treeJSON{}, err
	}
	out := treeJSON{SHA: tree, URL: s.apiRepo() + "/git/trees/" + tree, Tree: []treeEntryJSON{}}
	if recursive && len(entries) > s.treeLimit {
		// GitHub cuts a recursive listing short past its limit and says so;
		// the entries it does list are real ones.
		entries, out.Truncated = entries[:s.treeLimit], true
	}
	for _, e := range entries {
		j := treeEntryJSON{Path: e.Path, Mode: e.Mode, Type: e.Type, SHA: e.SHA, URL: s.apiRepo() + "/git/" + e.Type + "s/" + e.SHA}
		if e.Size >= 0 {
			j.Size = &e.Size
		}
		out.Tree = append(out.Tree, j)
	}
	return out, nil
}

// POST /repos/{o}/{r}/git/commits.
func (s *Server) createCommit(r *http.Request) (int, any, error) {
	type person struct {
		Name  *string `json:"name"`
		Email *string `json:"email"`
		Date  *string `json:"date"`
	}
	var in struct {
		Message   *string  `json:"message"`
		Tree      *string  `json:"tree"`
		Parents   []string `json:"parents"`
		Author    *person  `json:"author"`
		Committer *person  `json:"committer"`
		Signature *string  `json:"signature"`
	}
	if err := decode(r, &in); err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	if in.Message == nil || in.Tree == nil {
		return 0, nil, errorf(http.StatusUnprocessableEntity, "Invalid request.\n\n\"message\" and \"tree\" must be supplied.")
	}
	if typ, err := s.git.objectType(ctx, *in.Tree); err != nil || typ != "tree" {
		return 0, nil, orUnprocessable(err, "Tree SHA does not exist")
	}
	for _, p := range in.Parents {
		if typ, err := s.git.objectType(ctx, p); err != nil || typ != "commit" {
			return 0, nil, orUnprocessable(err, "Parent SHA does not exist or is not a commit object")
		}
	}
	now := time.Now()
	ident := func(p *person, def string) (string, error) {
		if p == nil {
			return def, nil
		}
		name, email := deref(p.Name), deref(p.Email)
		if name == "" || email == "" || strings.ContainsAny(name+email, "<>\n\x00") {
			return "", errorf(http.StatusUnprocessableEntity, "Invalid request.\n\nInvalid name or email.")
		}
		when := now
		if d := deref(p.Date); d != "" {
			t, err := time.Parse(time.RFC3339, d)
			if err != nil {
				return "", errorf(http.StatusUnprocessableEntity, "Invalid request.\n\n%q is not a valid date-time.", d)
			}
			when = t
		}
		return gitIdent(name, email, when), nil
	}
	author, err := ident(in.Author, gitIdent(userName, userEmail, now))
	if err != nil {
		return 0, nil, err
	}
	committer, err := ident(in.Committer, author)
	if err != nil {
		return 0, nil, err
	}

	var body bytes.Buffer
	fmt.Fprintf(&body, "tree %s\n", *in.Tree)
	for _, p := range in.Parents {
		fmt.Fprintf(&body, "parent %s\n", p)
	}
	fmt.Fprintf(&body, "author %s\ncommitter %s\n", author, committer)
	sig := deref(in.Signature)
	if in.Author == nil && in.Committer == nil && sig == "" {
		// GitHub signs a bot's commit when the request names no one
		// ("Signature verification for bots").
		sig = webFlowSignature
	}
	if sig != "" {
		fmt.Fprintf(&body, "gpgsig %s\n", strings.ReplaceAll(strings.TrimRight(sig, "\n"), "\n", "\n "))
	}
	body.WriteString("\n" + *in.Message)
	sha, err := s.git.line(ctx, body.Bytes(), "hash-object", "-t", "commit", "-w", "--stdin")
	if err != nil {
		return 0, nil, err
	}
	c, err := s.commitJSON(r, sha)
	return http.StatusCreated, c, err
}

func orUnprocessable(err error, msg string) error {
	if err != nil {
		return err
	}
	return errorf(http.StatusUnprocessableEntity, "%s", msg)
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// gitIdent is a commit header's "Name <email> UNIX +HHMM".
func gitIdent(name, email string, t time.Time) string {
	return fmt.Sprintf("%s <%s> %d %s", name, email, t.Unix(), t.Format("-0700"))
}

// GET /repos/{o}/{r}/git/commits/{sha}.
func (s *Server) getCommit(r *http.Request) (int, any, error) {
	sha := r.PathValue("sha")
	typ, err := s.git.objectType(r.Context(), sha)
	if err != nil {
		return 0, nil, err
	}
	if typ != "commit" {
		return 0, nil, errorf(http.StatusNotFound, "Not Found")
	}
	c, err := s.commitJSON(r, sha)
	return http.StatusOK, c, err
}

// commitJSON reads a commit with `git cat-file` and shapes it as GitHub does.
func (s *Server) commitJSON(r *http.Request, sha string) (commitJSON, error) {
	raw, err := s.git.run(r.Context(), nil, "cat-file", "commit", sha)
	if err != nil {
		return commitJSON{}, err
	}
	head, msg, _ := bytes.Cut(raw, []byte("\n\n"))
	html := strings.Replace(s.apiRepo(), "/api/v3/repos/", "/", 1)
	c := commitJSON{
		SHA: sha, NodeID: "C_" + sha, URL: s.apiRepo() + "/git/commits/" + sha, HTMLURL: html + "/commit/" + sha,
		Message: string(msg), Parents: []shaURL{},
		Verification: verificationJSON{Reason: "unsigned"},
	}
	for _, line := range strings.Split(string(head), "\n") {
		key, val, _ := strings.Cut(line, " ")
		switch key {
		case "tree":
			c.Tree = shaURL{SHA: val, URL: s.apiRepo() + "/git/trees/" + val}
		case "parent":
			c.Parents = append(c.Parents, shaURL{SHA: val, URL: s.apiRepo() + "/git/commits/" + val, HTMLURL: html + "/commit/" + val})
		case "author":
			c.Author = parseIdent(val)
		case "committer":
			c.Committer = parseIdent(val)
		case "gpgsig":
			c.Verification.Reason = "unknown_key"
		}
	}
	if bytes.Contains(head, []byte("\n fakegithub-web-flow\n")) {
		c.Verification = verificationJSON{Verified: true, Reason: "valid"}
	}
	return c, nil
}

// parseIdent reads "Name <email> UNIX +HHMM"; GitHub shows dates in UTC.
func parseIdent(v string) personJSON {
	lt, gt := strings.LastIndex(v, "<"), strings.LastIndex(v, ">")
	if lt < 0 || gt < lt {
		return personJSON{Name: v}
	}
	p := personJSON{Name: strings.TrimSpace(v[:lt]), Email: v[lt+1 : gt]}
	if f := strings.Fields(v[gt+1:]); len(f) >= 1 {
		if secs, err := strconv.ParseInt(f[0], 10, 64); err == nil {
			p.Date = time.Unix(secs, 0).UTC().Format(time.RFC3339)
		}
	}
	return p
}

// sortedNames returns a map's keys in order, so trees are written the same
// way every time.
func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
