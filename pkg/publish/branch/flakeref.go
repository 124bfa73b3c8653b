package branch

import (
	"net/url"
	"strings"

	"github.com/google/go-github/v60/github"
)

// FlakeRef is how Nix names the branch: github:OWNER/REPO/BRANCH, with
// ?ref= for a branch holding "/" (Nix reads only one path segment as the
// ref) and ?host= for GitHub Enterprise.
func FlakeRef(gh *github.Client, o Options) string {
	ref := "github:" + o.Owner + "/" + o.Repo
	var query []string
	if strings.Contains(o.Branch, "/") {
		query = append(query, "ref="+strings.ReplaceAll(url.QueryEscape(o.Branch), "%2F", "/"))
	} else {
		ref += "/" + o.Branch
	}
	if gh.BaseURL != nil && gh.BaseURL.Host != "api.github.com" {
		query = append(query, "host="+strings.TrimPrefix(gh.BaseURL.Host, "api."))
	}
	if len(query) > 0 {
		ref += "?" + strings.Join(query, "&")
	}
	return ref
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
