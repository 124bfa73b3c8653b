package narinfo

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseFiles(t *testing.T) {
	tests := []struct {
		file string
		want NarInfo
	}{
		{
			// Nix 2.8's `nix copy --to file://` of a `nix-store --add` path.
			file: "nix-ca.narinfo",
			want: NarInfo{
				StorePath: "/nix/store/99fn01wm8hl8k6v5pnyi4lzlwk5zm9dz-nicadir", URL: "nar/0w25jdlc0qnv8mizc64h30pzk9x3qyan3ahjgqq5yp0p1804mw26.nar.xz",
				Compression: "xz", FileHash: "sha256:0w25jdlc0qnv8mizc64h30pzk9x3qyan3ahjgqq5yp0p1804mw26", FileSize: 168,
				NarHash: "sha256:1jpg5v8rcf4d08rlpq51vnd1w800l64h34r0bw4vkb6z3qlk089k", NarSize: 288,
				CA: "fixed:r:sha256:1jpg5v8rcf4d08rlpq51vnd1w800l64h34r0bw4vkb6z3qlk089k",
			},
		},
		{
			// Cachix: base16 FileHash, unknown-deriver.
			file: "cachix.narinfo",
			want: NarInfo{
				StorePath: "/nix/store/l9r346p3d25vs4g5v37f3r3f28js97kb-hello-2.12.1", URL: "nar/6b1c5a0f0ddba4dbb93b8d2ab1c26ea1b0d4cd1e41c4efa3a2e8b9e2b8b1a3c5.nar.zst",
				Compression: "zstd", FileHash: "sha256:6b1c5a0f0ddba4dbb93b8d2ab1c26ea1b0d4cd1e41c4efa3a2e8b9e2b8b1a3c5", FileSize: 50088,
				NarHash: "sha256:1jpg5v8rcf4d08rlpq51vnd1w800l64h34r0bw4vkb6z3qlk089k", NarSize: 226560,
				References: []string{"l9r346p3d25vs4g5v37f3r3f28js97kb-hello-2.12.1", "ydzhy8xmb3v8vz1jbd6v3qwvanwqwb5s-glibc-2.40-36"},
				Sigs:       []string{"example.cachix.org-1:Zm9vYmFyYmF6Zm9vYmFyYmF6Zm9vYmFyYmF6Zm9vYmFyYmF6Zm9vYmFyYmF6Zm9vYmFyYmF6Zm9vYmFyYmF6Zm9vYmE="},
			},
		},
		{
			file: "nixpkgs.narinfo",
			want: NarInfo{
				StorePath: "/nix/store/ydzhy8xmb3v8vz1jbd6v3qwvanwqwb5s-glibc-2.40-36", URL: "nar/0w25jdlc0qnv8mizc64h30pzk9x3qyan3ahjgqq5yp0p1804mw26.nar.xz",
				Compression: "xz", FileHash: "sha256:0w25jdlc0qnv8mizc64h30pzk9x3qyan3ahjgqq5yp0p1804mw26", FileSize: 8451400,
				NarHash: "sha256:1w1fff338fvdw53sqgamddn1b2xgds473pv6y13gizdbqjv4i5p3", NarSize: 30801456,
				References: []string{"ydzhy8xmb3v8vz1jbd6v3qwvanwqwb5s-glibc-2.40-36", "zq0lyqfn4ylyf1a8ak8ckxqps9n1b8b0-xgcc-13.3.0-libgcc"},
				Deriver:    "9xsv0i2nk4yv5rgg9w62qjbkcsy1c0mv-glibc-2.40-36.drv",
				Sigs:       []string{"cache.nixos.org-1:Zm9vYmFyYmF6Zm9vYmFyYmF6Zm9vYmFyYmF6Zm9vYmFyYmF6Zm9vYmFyYmF6Zm9vYmFyYmF6Zm9vYmFyYmF6Zm9vYmE="},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile("testdata/" + tt.file)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(string(data))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&tt.want, got); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	const good = "StorePath: /nix/store/99fn01wm8hl8k6v5pnyi4lzlwk5zm9dz-x\nURL: nar/a.nar\nNarHash: sha256:1jpg5v8rcf4d08rlpq51vnd1w800l64h34r0bw4vkb6z3qlk089k\nNarSize: 288\n"
	if _, err := Parse(good); err != nil {
		t.Fatalf("the base case fails: %v", err)
	}
	tests := []struct {
		name, text, want string
	}{
		{"no store path", strings.Replace(good, "StorePath", "Path", 1), "no StorePath"},
		{"no NarHash", strings.Replace(good, "NarHash", "Hash", 1), "no NarHash"},
		{"zero size", strings.Replace(good, "NarSize: 288", "NarSize: 0", 1), "NarSize is 0"},
		{"bad size", strings.Replace(good, "NarSize: 288", "NarSize: -1", 1), `NarSize "-1"`},
		{"twice", good + "URL: nar/b.nar\n", "URL given twice"},
		{"not key value", good + "garbage\n", `"garbage" is not KEY: VALUE`},
		{"path outside the store", strings.Replace(good, "/nix/store/", "/gnu/store/", 1), "not under /nix/store/"},
		{"bad hash char", strings.Replace(good, "99fn01", "99fe01", 1), "is not a store path name"},
		{"bad reference", good + "References: ../../etc\n", "References"},
		{"bad NarHash", strings.Replace(good, "sha256:1jpg", "sha256:1jpgX", 1), "NarHash"},
		{"unknown algorithm", strings.Replace(good, "sha256:", "crc32:", 1), "NarHash"},
		{"absolute URL", strings.Replace(good, "nar/a.nar", "/etc/passwd", 1), "not a relative file name"},
		{"bad FileHash", good + "FileHash: sha256:abc\n", "FileHash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.text)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse = %v, want ErrCorrupt saying %q", err, tt.want)
			}
		})
	}
}

func TestParseSkipsUnknownFields(t *testing.T) {
	n, err := Parse("StorePath: /nix/store/99fn01wm8hl8k6v5pnyi4lzlwk5zm9dz-x\nURL: nar/a.nar\nNarHash: sha256-Pu2d3+ZKpiIkJMIC8JWmcS4PKzBmmL9A4l3/VW2ohwM=\nNarSize: 1\nFutureField: x\nReferences:\n")
	if err != nil {
		t.Fatal(err)
	}
	if n.Compression != "bzip2" || len(n.References) != 0 {
		t.Errorf("got %+v", n)
	}
}

func TestHash(t *testing.T) {
	for _, p := range []string{"/nix/store/99fn01wm8hl8k6v5pnyi4lzlwk5zm9dz-x", "99fn01wm8hl8k6v5pnyi4lzlwk5zm9dz-x"} {
		if got := Hash(p); got != "99fn01wm8hl8k6v5pnyi4lzlwk5zm9dz" {
			t.Errorf("Hash(%q) = %q", p, got)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile("testdata/cachix.narinfo")
	if err != nil {
		b.Fatal(err)
	}
	text := string(data)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(text); err != nil {
			b.Fatal(err)
		}
	}
}
