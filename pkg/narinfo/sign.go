package narinfo

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Fingerprint is what a narinfo's signatures sign, as Nix computes it:
// 1;STOREPATH;NARHASH;NARSIZE;REFERENCES, the hash as sha256:NIX32 and the
// references as full store paths, comma-separated.
func (n *NarInfo) Fingerprint() (string, error) {
	hash, err := nix32Hash(n.NarHash)
	if err != nil {
		return "", err
	}
	dir := n.StorePath[:strings.LastIndexByte(n.StorePath, '/')+1]
	refs := make([]string, len(n.References))
	for i, r := range n.References {
		refs[i] = dir + r
	}
	return "1;" + n.StorePath + ";" + hash + ";" + strconv.FormatUint(n.NarSize, 10) + ";" + strings.Join(refs, ","), nil
}

// SignedBy returns the name of the first of keys (NAME:BASE64, as in
// trusted-public-keys) that made one of the narinfo's signatures, or "".
func (n *NarInfo) SignedBy(keys []string) (string, error) {
	fp, err := n.Fingerprint()
	if err != nil {
		return "", err
	}
	for _, k := range keys {
		name, b64, _ := strings.Cut(k, ":")
		pub, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(pub) != ed25519.PublicKeySize {
			continue
		}
		for _, s := range n.Sigs {
			signer, sig64, _ := strings.Cut(s, ":")
			sig, err := base64.StdEncoding.DecodeString(sig64)
			if signer == name && err == nil && len(sig) == ed25519.SignatureSize && ed25519.Verify(pub, []byte(fp), sig) {
				return name, nil
			}
		}
	}
	return "", nil
}

// Signers are the key names of the narinfo's signatures.
func (n *NarInfo) Signers() []string {
	names := make([]string, 0, len(n.Sigs))
	for _, s := range n.Sigs {
		name, _, _ := strings.Cut(s, ":")
		names = append(names, name)
	}
	return names
}

// nix32Hash is an ALGO:DIGEST or SRI hash as sha256:NIX32.
func nix32Hash(h string) (string, error) {
	var raw []byte
	if algo, digest, ok := strings.Cut(h, ":"); ok && algo == "sha256" {
		switch len(digest) {
		case 64:
			b, err := hex.DecodeString(digest)
			if err != nil {
				return "", fmt.Errorf("NarHash %q: %w", h, err)
			}
			raw = b
		case 52:
			return h, nil
		}
	} else if algo, digest, ok := strings.Cut(h, "-"); ok && algo == "sha256" {
		b, err := base64.StdEncoding.DecodeString(digest)
		if err == nil && len(b) == 32 {
			raw = b
		}
	}
	if raw == nil {
		return "", fmt.Errorf("NarHash %q is no sha256 hash Nix signs", h)
	}
	return "sha256:" + nix32(raw), nil
}

// nix32 is Nix's base-32: its own alphabet, read from the last digit.
func nix32(b []byte) string {
	const alphabet = "0123456789abcdfghijklmnpqrsvwxyz"
	n := (len(b)*8-1)/5 + 1
	out := make([]byte, n)
	for i := n - 1; i >= 0; i-- {
		bit := i * 5
		j, k := bit/8, uint(bit%8)
		c := b[j] >> k
		if j+1 < len(b) {
			c |= b[j+1] << (8 - k)
		}
		out[n-1-i] = alphabet[c&0x1f]
	}
	return string(out)
}
