// Package ghrepo holds the rules for GitHub repository and branch names, shared by
// the configuration and the publishers so that all of them agree.
package ghrepo

import (
	"fmt"
	"strings"
)

// Split checks "OWNER/REPO" and returns its parts: an owner of up to 39 letters,
// digits and hyphens, not starting with a hyphen, and a repository name of up to
// 100 letters, digits, ".", "_" and "-", neither "." nor "..", which would change
// the path of API URLs.
func Split(repository string) (owner, repo string, err error) {
	owner, repo, ok := strings.Cut(repository, "/")
	only := func(s, extra string) bool {
		for _, c := range s {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(extra, c)) {
				return false
			}
		}
		return true
	}
	if !ok || owner == "" || len(owner) > 39 || owner[0] == '-' || !only(owner, "-") ||
		repo == "" || len(repo) > 100 || repo == "." || repo == ".." || !only(repo, "._-") {
		return "", "", fmt.Errorf("%q is not OWNER/REPO", repository)
	}
	return owner, repo, nil
}

// CheckBranch applies the parts of git's ref-name rules (git-check-ref-format)
// that a branch name can break, so a bad name fails before any request.
func CheckBranch(b string) error {
	bad := func(why string) error { return fmt.Errorf("invalid branch name %q: %s", b, why) }
	switch {
	case b == "":
		return bad("empty")
	case strings.HasPrefix(b, "refs/"):
		return bad(`give the branch name without "refs/heads/"`)
	case strings.HasPrefix(b, "-"):
		return bad(`starts with "-"`)
	case strings.HasPrefix(b, "/") || strings.HasSuffix(b, "/") || strings.Contains(b, "//"):
		return bad("empty path component")
	case strings.HasSuffix(b, "."):
		return bad(`ends with "."`)
	case strings.Contains(b, ".."), strings.Contains(b, "@{"), b == "@":
		return bad(`holds "..", "@{" or is "@"`)
	case strings.ContainsAny(b, " ~^:?*[\\"):
		return bad(`holds one of " ~^:?*[\"`)
	}
	for _, seg := range strings.Split(b, "/") {
		if strings.HasPrefix(seg, ".") || strings.HasSuffix(seg, ".lock") {
			return bad(`a component starts with "." or ends with ".lock"`)
		}
	}
	for _, r := range b {
		if r < 0x20 || r == 0x7f {
			return bad("holds a control character")
		}
	}
	return nil
}
