// Package narinfo reads what a Nix binary cache says about a store path: the
// .narinfo file (its parser) and the HTTP client that fetches one per store
// path hash from a substituter.
package narinfo

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// UnknownDeriver is what Cachix (and Nix for paths of unknown origin) writes as
// Deriver when there is none.
const UnknownDeriver = "unknown-deriver"

// ErrCorrupt marks a narinfo that is not one.
var ErrCorrupt = errors.New("corrupt narinfo")

// NarInfo is a parsed .narinfo. Store paths in References and Deriver are
// base names (HASH-NAME), as the file holds them.
type NarInfo struct {
	StorePath   string
	URL         string
	Compression string
	FileHash    string // ALGO:DIGEST, base16 (Cachix) or nix-base32
	FileSize    uint64
	NarHash     string
	NarSize     uint64
	References  []string
	Deriver     string // "" when unknown
	System      string
	Sigs        []string
	// CA is the content address ("fixed:r:sha256:…", "text:sha256:…") of a
	// content-addressed path; "" for an input-addressed one.
	CA string
}

// Parse reads a narinfo strictly: every known field must be well formed, the
// required ones (StorePath, URL, NarHash, NarSize) present and single. Unknown
// fields are skipped, as Nix skips them, so that a cache that adds one does not
// stop every run.
//
// It is written here rather than taken from go-nix: go-nix's parser allocates
// a 1 MiB line buffer per call (1.5 ms and 1 MiB per narinfo, measured), which
// alone would exceed the time and memory budget of verifying 10,000 pins, and
// it rejects unknown fields.
func Parse(text string) (*NarInfo, error) {
	n := &NarInfo{}
	seen := 0
	const (
		fStorePath = 1 << iota
		fURL
		fCompression
		fFileHash
		fFileSize
		fNarHash
		fNarSize
		fReferences
		fDeriver
		fSystem
		fCA
	)
	once := func(bit int, key string) error {
		if seen&bit != 0 {
			return fmt.Errorf("%w: %s given twice", ErrCorrupt, key)
		}
		seen |= bit
		return nil
	}
	for line := range strings.Lines(text) {
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			continue
		}
		key, value, ok := strings.Cut(line, ": ")
		if !ok {
			if k, found := strings.CutSuffix(line, ":"); found && k == "References" {
				key, value = k, "" // "References:" with nothing after
			} else {
				return nil, fmt.Errorf("%w: line %q is not KEY: VALUE", ErrCorrupt, clip(line))
			}
		}
		var err error
		switch key {
		case "StorePath":
			if err = once(fStorePath, key); err == nil {
				n.StorePath, err = value, checkStorePath(value)
			}
		case "URL":
			if err = once(fURL, key); err == nil {
				n.URL = value
				if value == "" || strings.HasPrefix(value, "/") || strings.Contains(value, "..") {
					err = fmt.Errorf("%w: URL %q is not a relative file name", ErrCorrupt, clip(value))
				}
			}
		case "Compression":
			if err = once(fCompression, key); err == nil {
				n.Compression = value
			}
		case "FileHash":
			if err = once(fFileHash, key); err == nil {
				n.FileHash, err = value, checkHash(key, value)
			}
		case "FileSize":
			if err = once(fFileSize, key); err == nil {
				n.FileSize, err = parseSize(key, value)
			}
		case "NarHash":
			if err = once(fNarHash, key); err == nil {
				n.NarHash, err = value, checkHash(key, value)
			}
		case "NarSize":
			if err = once(fNarSize, key); err == nil {
				n.NarSize, err = parseSize(key, value)
			}
		case "References":
			if err = once(fReferences, key); err == nil {
				n.References, err = parseReferences(value)
			}
		case "Deriver":
			if err = once(fDeriver, key); err == nil && value != UnknownDeriver {
				n.Deriver, err = value, checkBaseName(value)
			}
		case "System":
			if err = once(fSystem, key); err == nil {
				n.System = value
			}
		case "Sig":
			n.Sigs = append(n.Sigs, value)
		case "CA":
			if err = once(fCA, key); err == nil {
				n.CA = value
				if value == "" {
					err = fmt.Errorf("%w: empty CA", ErrCorrupt)
				}
			}
		}
		if err != nil {
			return nil, err
		}
	}
	for _, f := range []struct {
		bit  int
		name string
	}{{fStorePath, "StorePath"}, {fURL, "URL"}, {fNarHash, "NarHash"}, {fNarSize, "NarSize"}} {
		if seen&f.bit == 0 {
			return nil, fmt.Errorf("%w: no %s", ErrCorrupt, f.name)
		}
	}
	if n.NarSize == 0 {
		return nil, fmt.Errorf("%w: NarSize is 0", ErrCorrupt)
	}
	if n.Compression == "" {
		n.Compression = "bzip2" // Nix's default for a narinfo without one
	}
	return n, nil
}

// Hash is the 32-character hash part of a store path or base name.
func Hash(path string) string {
	base := path[strings.LastIndexByte(path, '/')+1:]
	return base[:min(len(base), 32)]
}

const storeDir = "/nix/store/"

func checkStorePath(p string) error {
	base, ok := strings.CutPrefix(p, storeDir)
	if !ok {
		return fmt.Errorf("%w: StorePath %q is not under %s", ErrCorrupt, clip(p), storeDir)
	}
	return checkBaseName(base)
}

// checkBaseName checks HASH-NAME against Nix's store path grammar.
func checkBaseName(b string) error {
	if len(b) < 34 || len(b) > 32+1+211 || b[32] != '-' || b[33] == '.' {
		return fmt.Errorf("%w: %q is not a store path name (HASH-NAME)", ErrCorrupt, clip(b))
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		ok := i < 32 && isBase32(c) || i >= 32 && isNameChar(c)
		if !ok {
			return fmt.Errorf("%w: %q is not a store path name (character %q)", ErrCorrupt, clip(b), c)
		}
	}
	return nil
}

func parseReferences(v string) ([]string, error) {
	if v == "" {
		return nil, nil
	}
	refs := strings.Split(v, " ")
	for _, r := range refs {
		if err := checkBaseName(r); err != nil {
			return nil, fmt.Errorf("in References: %w", err)
		}
	}
	return refs, nil
}

func parseSize(key, v string) (uint64, error) {
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %s %q is not a size in bytes", ErrCorrupt, key, clip(v))
	}
	return n, nil
}

// checkHash accepts ALGO:DIGEST with a base16 or nix-base32 digest, or an SRI
// hash (ALGO-BASE64), for the algorithms Nix knows.
func checkHash(key, v string) error {
	bad := &hashError{key, v}
	if algo, digest, ok := strings.Cut(v, ":"); ok {
		size, known := hashSize(algo)
		switch {
		case !known:
			return bad
		case len(digest) == 2*size:
			for i := 0; i < len(digest); i++ {
				if c := digest[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
					return bad
				}
			}
			return nil
		case len(digest) == (size*8-1)/5+1:
			for i := 0; i < len(digest); i++ {
				if !isBase32(digest[i]) {
					return bad
				}
			}
			return nil
		}
		return bad
	}
	if algo, digest, ok := strings.Cut(v, "-"); ok {
		if size, known := hashSize(algo); known && len(digest) == (size+2)/3*4 {
			return nil
		}
	}
	return bad
}

type hashError struct{ key, value string }

func (e *hashError) Error() string {
	return fmt.Sprintf("%v: %s %q is not ALGO:HASH (base16 or nix-base32)", ErrCorrupt, e.key, clip(e.value))
}

func (e *hashError) Unwrap() error { return ErrCorrupt }

func hashSize(algo string) (int, bool) {
	switch algo {
	case "md5":
		return 16, true
	case "sha1":
		return 20, true
	case "sha256":
		return 32, true
	case "sha512":
		return 64, true
	}
	return 0, false
}

func isBase32(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' && c != 'e' && c != 'o' && c != 'u' && c != 't'
}

func isNameChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("+-._?=", c) >= 0
}

// clip keeps server text in errors short.
func clip(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}
