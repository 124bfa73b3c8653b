package fakecachix

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kwbauson/create-pin-refs/pkg/narinfo"
)

// signingSeed makes the key that signs the hand-made narinfo files, as a
// cache signs what it holds.
const signingSeed = "fakecachix signing key seed 0001"

// PublicKey is the public half of that key, as trusted-public-keys takes
// it (TestPublicKey checks it).
const PublicKey = "fake-1:EXKwx6xcBC2Fbj08yqPLzmH062nBRbpIcsZuuc6yRwU="

// NarInfo describes one store path of a hand-made binary cache folder.
type NarInfo struct {
	StorePath  string
	References []string // store paths
	NarSize    int
	CA         string // e.g. "fixed:r:sha256:…"; "" for an input-addressed path
	Deriver    string // a .drv store path; "" writes unknown-deriver
}

// StorePath is a valid store path whose hash is derived from name, for tests
// that need many distinct paths without Nix.
func StorePath(name string) string {
	const alphabet = "0123456789abcdfghijklmnpqrsvwxyz" // Nix's base-32
	sum := sha256.Sum256([]byte(name))
	h := make([]byte, 32)
	for i := range h {
		h[i] = alphabet[sum[i]%32]
	}
	return "/nix/store/" + string(h) + "-" + name
}

// Text is the narinfo as Cachix serves it: base16 FileHash, and
// "unknown-deriver" when the deriver is not known.
func (n NarInfo) Text() string {
	base := func(p string) string { return strings.TrimPrefix(p, "/nix/store/") }
	refs := make([]string, len(n.References))
	for i, r := range n.References {
		refs[i] = base(r)
	}
	deriver := "unknown-deriver"
	if n.Deriver != "" {
		deriver = base(n.Deriver)
	}
	sum := sha256.Sum256([]byte(n.StorePath))
	s := fmt.Sprintf("StorePath: %s\nURL: nar/%x.nar.zst\nCompression: zstd\nFileHash: sha256:%x\nFileSize: %d\n"+
		"NarHash: sha256:%x\nNarSize: %d\nReferences: %s\nDeriver: %s\n",
		n.StorePath, sum, sum, n.NarSize/3+1, sum, n.NarSize, strings.Join(refs, " "), deriver)
	if n.CA != "" {
		s += "CA: " + n.CA + "\n"
	}
	if parsed, err := narinfo.Parse(s); err == nil {
		if fp, err := parsed.Fingerprint(); err == nil {
			key := ed25519.NewKeyFromSeed([]byte(signingSeed))
			s += "Sig: fake-1:" + base64.StdEncoding.EncodeToString(ed25519.Sign(key, []byte(fp))) + "\n"
		}
	}
	return s
}

// WriteNarInfos writes HASH.narinfo files into dir, a binary cache folder.
func WriteNarInfos(dir string, infos ...NarInfo) error {
	for _, n := range infos {
		hash := strings.TrimPrefix(n.StorePath, "/nix/store/")[:32]
		if err := os.WriteFile(filepath.Join(dir, hash+".narinfo"), []byte(n.Text()), 0o644); err != nil {
			return err
		}
	}
	return nil
}
