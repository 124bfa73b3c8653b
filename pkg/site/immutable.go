package site

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/kwbauson/create-pin-refs/pkg/bundle"
)

// Immutable copies of the bundle: every publish also serves its tarball as
// BundlesDir/NAME.tar.gz, a name no other content ever gets, so a flake lock
// made against it (or against the Link header that names it) keeps resolving
// after later publishes.
const (
	// BundlesDir holds the immutable tarballs of this and earlier publishes.
	BundlesDir = "b"
	// Headers is the file of custom HTTP headers that Netlify and Cloudflare
	// Pages read (GitHub Pages serves it as a plain file).
	Headers = "_headers"
)

// BundleRef is one immutable bundle the site serves.
type BundleRef struct {
	// Path is relative to the site: b/NAME.tar.gz.
	Path string `json:"path"`
	// URL is the absolute address, when the site's URL is known.
	URL string `json:"url,omitempty"`
	// NarHash is what a flake lock records for it (SRI SHA-256 of the NAR of
	// the unpacked top folder).
	NarHash string `json:"narHash"`
}

// placeholder stands for the bundle's own name while that name is computed.
var placeholder = strings.Repeat("0", 32)

// bundlePath is the immutable path of a bundle named name.
func bundlePath(name string) string { return BundlesDir + "/" + name + ".tar.gz" }

// bundlePathPattern is every name this package gives; anything else read from
// an earlier site is refused.
var bundlePathPattern = regexp.MustCompile(`^` + BundlesDir + `/[0-9a-f]{32}\.tar\.gz$`)

// ValidBundlePath reports whether p is an immutable bundle's path as Seal writes it.
func ValidBundlePath(p string) bool { return bundlePathPattern.MatchString(p) }

// SiteBase is the site's base URL (ending in "/") when tarballURL is a site's
// URL/pins, as pages and dir modes serve it; ok is false otherwise.
func SiteBase(tarballURL string) (base string, ok bool) {
	base, ok = strings.CutSuffix(tarballURL, "/"+Tarball)
	if !ok || !strings.HasPrefix(base, "http") {
		return "", false
	}
	return base + "/", true
}

// Seal adds the README to b and names b's immutable copy, which becomes the
// first of m.Bundles. v.Lock is set to the form flake inputs should lock: the
// branch's flake reference in branch mode, else the immutable URL when the
// site's URL is known. The name is a hash of the bundle with the README written
// with a placeholder for the name, so that the same content always gets the
// same name and the README can show it. It returns the README.
func Seal(b *bundle.Bundle, m *ManifestData, v *IndexView) ([]byte, error) {
	base, hasBase := SiteBase(v.URL)
	if v.FlakeRef != "" {
		hasBase = false
		v.Lock = v.FlakeRef
	}
	render := func(name string) []byte {
		if hasBase {
			v.Lock = base + bundlePath(name)
		}
		readme := RenderReadme(*m, *v)
		b.Put(Readme, readme)
		return readme
	}
	render(placeholder)
	h, err := b.NarHash()
	if err != nil {
		return nil, fmt.Errorf("hashing the bundle: %w", err)
	}
	sum := sha256.Sum256([]byte(h))
	name := hex.EncodeToString(sum[:16])
	readme := render(name)
	narHash, err := b.NarHash()
	if err != nil {
		return nil, fmt.Errorf("hashing the bundle: %w", err)
	}
	ref := BundleRef{Path: bundlePath(name), NarHash: narHash}
	if hasBase {
		ref.URL = base + ref.Path
	}
	m.Bundles = []BundleRef{ref}
	return readme, nil
}

// LockURL is ref's URL with the narHash that Nix's Lockable HTTP Tarball
// Protocol wants in a Link header.
func LockURL(ref BundleRef) string {
	return ref.URL + "?narHash=" + url.QueryEscape(ref.NarHash)
}

// RenderHeaders renders the _headers file: the mutable tarball URLs answer with
// `Link: <IMMUTABLE?narHash=…>; rel="immutable"`, so that Nix 2.17 and later lock
// the immutable URL, and the immutable bundles may be cached for ever. Paths are
// absolute on the host, as Netlify and Cloudflare Pages match them. It returns
// nil when the site's URL is unknown.
func RenderHeaders(m ManifestData) []byte {
	if len(m.Bundles) == 0 || m.Bundles[0].URL == "" {
		return nil
	}
	ref := m.Bundles[0]
	u, err := url.Parse(ref.URL)
	if err != nil {
		return nil
	}
	root := strings.TrimSuffix(u.EscapedPath(), ref.Path)
	var sb strings.Builder
	sb.WriteString("# Written by create-pin-refs. Hosts that read this file (Netlify, Cloudflare Pages)\n" +
		"# answer the mutable tarball URLs with their immutable copy, which flake locks record.\n")
	link := fmt.Sprintf("Link: <%s>; rel=\"immutable\"\n", LockURL(ref))
	for _, name := range []string{Tarball, TarballGz} {
		fmt.Fprintf(&sb, "%s%s\n  %s", root, name, link)
	}
	fmt.Fprintf(&sb, "%s%s/*\n  Cache-Control: public, max-age=31536000, immutable\n", root, BundlesDir)
	return []byte(sb.String())
}

// immutableFiles lists what BundlesDir is to hold: this publish's tarball and
// earlier's. A BundlesDir in dir holding anything else is not ours: it is an
// error, and left alone.
func immutableFiles(dir string, m ManifestData, tgz []byte, earlier map[string][]byte) ([]bundle.File, error) {
	final := filepath.Join(dir, BundlesDir)
	if entries, err := os.ReadDir(final); err == nil {
		for _, e := range entries {
			if !ValidBundlePath(BundlesDir + "/" + e.Name()) {
				return nil, fmt.Errorf("%s holds %s, so it was not written by create-pin-refs; refusing to replace it (choose another --out)", final, e.Name())
			}
		}
	}
	all := maps.Clone(earlier)
	if all == nil {
		all = map[string][]byte{}
	}
	if len(m.Bundles) > 0 {
		all[m.Bundles[0].Path] = tgz
	}
	var files []bundle.File
	for _, p := range slices.Sorted(maps.Keys(all)) {
		if !ValidBundlePath(p) {
			return nil, fmt.Errorf("immutable bundle path %q: not %s/NAME.tar.gz", p, BundlesDir)
		}
		files = append(files, bundle.File{Path: path.Base(p), Data: all[p], Mode: 0o644})
	}
	return files, nil
}
