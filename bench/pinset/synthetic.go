// Package pinset holds the synthetic pin sets and the original tool's format that the
// benchmarks compare against; `go run ./bench/evalcost` measures evaluation with real
// Nix and `go test -bench . ./bench/pinset` measures rendering; `go run ./bench` measures whole runs.
package pinset

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
)

// wordList gives names of the length and shape real pins have ("ripgrep-server-123").
const wordList = `hello ripgrep fd jq nodejs python3 go rustc cargo git
curl openssl zlib sqlite postgres redis nginx htop tmux neovim
emacs bash zsh coreutils gnused gawk findutils gcc clang llvm
cmake ninja meson protobuf grpc terraform kubectl helm docker podman
server client cli daemon worker agent proxy tools static musl`

const nixBase32 = "0123456789abcdfghijklmnpqrsvwxyz"

// Systems used by Synthetic: most pins are for the first, some for the second, and a
// quarter carry no system at all.
const (
	Linux  = "x86_64-linux"
	Darwin = "aarch64-darwin"
)

// Synthetic returns n pins as Cachix reports them, deterministic for a given n.
// Pins come in groups of four: a Linux-only name, a name pinned for both Linux and
// Darwin, and a system-less name, so there are about 3n/4 distinct names and each
// system's index offers all but the Linux-only ones on Darwin. One name in ten
// carries a version after a dot ("tool-12.v2"), which the original format splits.
func Synthetic(n int) []cachix.Pin {
	words := strings.Fields(wordList)
	rng := rand.New(rand.NewPCG(uint64(n), 0x5eed))
	out := make([]cachix.Pin, 0, n)
	var name string
	for i := 0; i < n; i++ {
		g, k := i/4, i%4
		var pinName string
		switch k {
		case 0, 1, 3:
			name = fmt.Sprintf("%s-%s-%d", words[rng.IntN(len(words))], words[rng.IntN(len(words))], 4*g+k)
			if rng.IntN(10) == 0 {
				name += ".v" + strconv.Itoa(1+rng.IntN(9))
			}
		}
		switch k {
		case 0, 1:
			pinName = name + "." + Linux
		case 2:
			pinName = name + "." + Darwin // same name as k == 1
		case 3:
			pinName = name
		}
		var artifacts []string
		if k != 3 {
			artifacts = []string{"bin/" + strings.SplitN(name, "-", 2)[0]}
		}
		out = append(out, cachix.Pin{
			Name:      pinName,
			CreatedOn: "2025-01-02T03:04:05Z",
			LastRevision: cachix.Revision{
				StorePath: StorePath(rng, name+"-1."+strconv.Itoa(rng.IntN(30))),
				CreatedOn: "2025-01-02T03:04:05Z",
				Revision:  1 + rng.IntN(5),
				Artifacts: artifacts,
			},
		})
	}
	return out
}

// StorePath returns a valid store path with a random hash and the given name.
func StorePath(rng *rand.Rand, name string) string {
	var h [32]byte
	for i := range h {
		h[i] = nixBase32[rng.IntN(len(nixBase32))]
	}
	return "/nix/store/" + string(h[:]) + "-" + name
}
