package s3

import (
	"path"
	"strings"

	"github.com/kwbauson/create-pin-refs/pkg/s3bucket"
	"github.com/kwbauson/create-pin-refs/pkg/site"
)

// Cache lifetimes: a mutable name is looked at again within a minute, as
// Pages does within ten; an immutable bundle never changes.
const (
	cacheMutable   = "public, max-age=60"
	cacheImmutable = "public, max-age=31536000, immutable"
)

// Kinds of object, in the order a publish writes them: a reader never
// finds a name that points at an object not yet written.
const (
	kindImmutable = iota // b/HASH.tar.gz: named by content
	kindInner            // under a folder: bundle/, p/ (the one-name bundles)
	kindTop              // the mutable names at the top: pins, index.html…
	kindManifest         // pins.json, which lists the bundles, last but the marker
)

// kindOf is where name comes in the order of writes.
func kindOf(name string) int {
	switch {
	case strings.HasPrefix(name, site.BundlesDir+"/"):
		return kindImmutable
	case name == site.Manifest:
		return kindManifest
	case strings.Contains(name, "/"):
		return kindInner
	}
	return kindTop
}

// headers are the object headers of name: its type, how long a cache may
// keep it, and on the mutable tarballs the Link to the immutable copy,
// which Nix (2.17 and later) reads from x-amz-meta-link as from Link and
// records in flake locks.
func headers(name, link string) s3bucket.PutOptions {
	o := s3bucket.PutOptions{ContentType: contentType(name), CacheControl: cacheMutable}
	switch {
	case kindOf(name) == kindImmutable:
		o.CacheControl = cacheImmutable
	case link != "" && linked(name):
		o.Metadata = map[string]string{"link": link}
	}
	return o
}

// linked says name is a mutable tarball, which carries the link.
func linked(name string) bool { return name == site.Tarball || name == site.TarballGz }

// contentType is the Content-Type of a site file, by name: the tarballs
// (pins and p/NAME have no extension) are gzip.
func contentType(name string) string {
	switch ext := path.Ext(name); {
	case name == site.Tarball || strings.HasPrefix(name, site.OnesDir+"/") && ext == "":
		return "application/gzip"
	case strings.HasSuffix(name, ".tar.gz"):
		return "application/gzip"
	case ext == ".json":
		return "application/json"
	case ext == ".html":
		return "text/html; charset=utf-8"
	case ext == ".js":
		return "text/javascript; charset=utf-8"
	case ext == ".nix" || ext == ".md" || ext == ".txt":
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}
