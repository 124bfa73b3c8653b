package bundle

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/kwbauson/create-pin-refs/nixtemplates"
	"github.com/kwbauson/create-pin-refs/pkg/pins"
)

// OneDir is the folder of the one-name bundles in a site (p/SEGMENT and
// p/SEGMENT.tar.gz) and in a branch (p/SEGMENT/).
const OneDir = "p"

// oneData is the file of a one-name bundle that holds its pins; the others
// are the same bytes for every name. Its name sorts last, so that in the
// tarball the shared files come first, compressed together once.
const oneData = "pinned.json"

// maxSegment keeps a segment, with ".tar.gz", well under the 255 bytes a file
// name may have.
const maxSegment = 200

// One is the bundle of one name: `nix run URL/p/SEGMENT` evaluates its pin
// alone, at the same cost whatever the number of pins.
type One struct {
	Name    string
	Segment string
	Bundle  *Bundle
}

// Segment is the file name that stands for name under OneDir: the name
// itself when it holds only [A-Za-z0-9._-] and starts with none of ".", and
// otherwise each other byte written ~XX (hex), so that a URL, a file system, a
// git tree and a flake's ?dir= take it as it is. A name ending in ".tar.gz"
// has that dot escaped too, so that no segment is another's ".tar.gz" file;
// a segment longer than 200 bytes is cut and ends in "~~" and a hash of the name.
func Segment(name string) string {
	const hexDigits = "0123456789ABCDEF"
	var sb strings.Builder
	sb.Grow(len(name))
	for i := 0; i < len(name); i++ {
		c := name[i]
		plain := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' ||
			c == '.' && i > 0 && name[i:] != ".tar.gz"
		if plain {
			sb.WriteByte(c)
			continue
		}
		sb.WriteByte('~')
		sb.WriteByte(hexDigits[c>>4])
		sb.WriteByte(hexDigits[c&15])
	}
	s := sb.String()
	if len(s) <= maxSegment {
		return s
	}
	cut := maxSegment - 20
	// Never cut inside an escape: "~" and its two digits stay together.
	if i := strings.LastIndexByte(s[:cut], '~'); i >= cut-2 {
		cut = i
	}
	sum := sha256.Sum256([]byte(name))
	return s[:cut] + "~~" + hex.EncodeToString(sum[:])[:16]
}

// Ones renders the one-name bundles of a set on demand, so that a site
// that leaves them out (over its budget) renders only what it measured. Its
// methods are safe for concurrent use.
type Ones struct {
	meta   Meta
	pins   []pins.Pin
	starts []int // where each name's pins start in pins, and len(pins)
	shared map[string][]byte
}

// OneList is one-name bundles rendered in advance; like *Ones, it has Len
// and One.
type OneList []One

// Len is the number of names.
func (l OneList) Len() int { return len(l) }

// One is the i-th name's bundle.
func (l OneList) One(i int) One { return l[i] }

// NewOnes prepares the bundle of each name of set, in name order: the
// one-name flake.nix and default.nix, the shared pin.nix (the code lib.nix
// uses) and pinned.json, the name's pins. The Nix files are stripped of
// comments and indentation, which are a third of a tarball's bytes, and are
// the same bytes for every name.
func NewOnes(set *pins.Set, meta Meta) (*Ones, error) {
	if err := meta.validate(); err != nil {
		return nil, err
	}
	o := &Ones{meta: meta, pins: set.Pins, shared: map[string][]byte{}}
	for path, src := range map[string]string{"default.nix": "one/default.nix", "pin.nix": "pin.nix"} {
		data, err := nixtemplates.FS.ReadFile(src)
		if err != nil {
			return nil, fmt.Errorf("reading template %s: %w", src, err)
		}
		o.shared[path] = stripNix(data)
	}
	flake, err := renderFlake("one/flake.nix.tmpl", meta, "One pin")
	if err != nil {
		return nil, err
	}
	o.shared["flake.nix"] = stripNix(flake)
	for i := range set.Pins {
		if i == 0 || set.Pins[i].Name != set.Pins[i-1].Name {
			o.starts = append(o.starts, i)
		}
	}
	o.starts = append(o.starts, len(set.Pins))
	return o, nil
}

// Len is the number of names; none for a nil *Ones.
func (o *Ones) Len() int {
	if o == nil {
		return 0
	}
	return len(o.starts) - 1
}

// One renders the i-th name's bundle.
func (o *Ones) One(i int) One {
	group := o.pins[o.starts[i]:o.starts[i+1]]
	name, meta := group[0].Name, o.meta
	var systems []string
	size := len(name) + len(meta.Cache) + len(meta.Substituter) + 80
	for _, p := range group {
		size += len(p.System) + len(p.StorePath) + len(p.Program) + 80
		if p.System == "" {
			systems = append(systems, defaultFlakeSystems...)
		} else {
			systems = append(systems, p.System)
		}
	}
	slices.Sort(systems)
	var enc jsonWriter
	enc.reset(size)
	enc.bytes(`{"name":`)
	enc.string(name)
	if meta.Cache != "" {
		enc.bytes(`,"cache":`)
		enc.string(meta.Cache)
	}
	enc.bytes(`,"substituter":`)
	enc.string(meta.Substituter)
	enc.bytes(`,"systems":`)
	enc.value(slices.Compact(systems))
	enc.bytes(`,"pins":`)
	enc.systems(group)
	enc.bytes("}\n")
	b := &Bundle{Files: []File{
		{Path: "default.nix", Data: o.shared["default.nix"], Mode: 0o644},
		{Path: "flake.nix", Data: o.shared["flake.nix"], Mode: 0o644},
		{Path: "pin.nix", Data: o.shared["pin.nix"], Mode: 0o644},
		{Path: oneData, Data: enc.take(), Mode: 0o644},
	}}
	return One{Name: name, Segment: Segment(name), Bundle: b}
}

// RenderOnes renders every name's bundle (see NewOnes).
func RenderOnes(set *pins.Set, meta Meta) (OneList, error) {
	o, err := NewOnes(set, meta)
	if err != nil {
		return nil, err
	}
	ones := make(OneList, o.Len())
	for i := range ones {
		ones[i] = o.One(i)
	}
	return ones, nil
}

// stripNix drops comment lines, blank lines and indentation from Nix code
// that holds no multi-line string, leaving what Nix reads unchanged.
func stripNix(src []byte) []byte {
	out := make([]byte, 0, len(src)/2)
	for line := range bytes.Lines(src) {
		t := bytes.TrimSpace(line)
		if len(t) == 0 || t[0] == '#' {
			continue
		}
		out = append(append(out, t...), '\n')
	}
	return out
}

// OnesPacker packs one-name bundles as gzip tarballs of two gzip members
// (RFC 1952 2.2, which Nix's libarchive and Go's gzip read as one stream):
// the tar blocks of the files every name shares, compressed once, then those
// of pinned.json (the last file) and the end of the archive, for each name.
// That takes a quarter of the time of compressing each whole tarball (about
// 20 µs a name) for as many bytes.
type OnesPacker struct {
	shared   []byte // the first member: the top folder and the shared files
	zw       *gzip.Writer
	level    int
	raw, out bytes.Buffer
	// header is archive/tar's header block of an empty pinned.json of mode
	// headerMode: every name's is that one but for the size and checksum,
	// which Pack sets rather than have archive/tar make it again.
	header     [tarBlock]byte
	headerMode fs.FileMode
}

// tarBlock is the size of a tar header block, and what a file's data is
// padded to.
const tarBlock = 512

// NewOnesPacker prepares the shared member from the files of one (any) of
// the one-name bundles.
func NewOnesPacker(one *Bundle) (*OnesPacker, error) {
	n := len(one.Files)
	if n == 0 || one.Files[n-1].Path != oneData {
		return nil, fmt.Errorf("bundle: a one-name bundle whose last file is not %s", oneData)
	}
	// The shared member is made once: the best compression is worth it.
	p := &OnesPacker{level: gzip.BestCompression}
	var err error
	if p.shared, err = p.member(true, one.Files[:n-1], false); err != nil {
		return nil, err
	}
	// Per name, level 4: faster than the default, and as small.
	p.zw, p.level = nil, 4
	last := one.Files[n-1]
	p.raw.Reset()
	tw := tar.NewWriter(&p.raw)
	if err := tw.WriteHeader(fileHeader(File{Path: last.Path, Mode: last.Mode})); err != nil {
		return nil, err
	}
	if err := tw.Flush(); err != nil || p.raw.Len() != tarBlock {
		return nil, fmt.Errorf("bundle: a tar header of %d bytes (%v)", p.raw.Len(), err)
	}
	copy(p.header[:], p.raw.Bytes())
	p.headerMode = last.Mode
	return p, nil
}

// fileHeader is the tar header of f in a one-name bundle.
func fileHeader(f File) *tar.Header {
	return &tar.Header{Typeflag: tar.TypeReg, Name: TopDir + "/" + f.Path, Size: int64(len(f.Data)), Mode: int64(f.Mode.Perm()), ModTime: mtime}
}

// ownTar is what archive/tar writes for f alone, the end of the archive
// after it, from p.header: the same bytes, at a fraction of the cost. ok is
// false when f is not of p.header's mode, or too large for its size field.
func (p *OnesPacker) ownTar(f File) (ok bool) {
	const sizeAt, sizeLen, sumAt, sumLen = 124, 12, 148, 8
	size := len(f.Data)
	if f.Mode != p.headerMode || int64(size) >= 1<<33 {
		return false
	}
	h := p.header
	// As archive/tar formats numbers: octal, zero-padded, NUL-terminated.
	octal := func(field []byte, v int64) {
		for i := len(field) - 2; i >= 0; i-- {
			field[i] = byte('0' + v&7)
			v >>= 3
		}
		field[len(field)-1] = 0
	}
	octal(h[sizeAt:sizeAt+sizeLen], int64(size))
	// The checksum counts its own field as spaces, and ends in NUL, space.
	sum := int64(0)
	for i, c := range h {
		if i >= sumAt && i < sumAt+sumLen {
			c = ' '
		}
		sum += int64(c)
	}
	octal(h[sumAt:sumAt+sumLen-1], sum)
	h[sumAt+sumLen-1] = ' '
	p.raw.Reset()
	p.raw.Grow(tarBlock + size + tarBlock + 2*tarBlock)
	p.raw.Write(h[:])
	p.raw.Write(f.Data)
	var zeros [tarBlock]byte
	p.raw.Write(zeros[:(tarBlock-size%tarBlock)%tarBlock])
	p.raw.Write(zeros[:])
	p.raw.Write(zeros[:])
	return true
}

// Pack returns the tarball of b, a one-name bundle like NewOnesPacker's.
func (p *OnesPacker) Pack(b *Bundle) ([]byte, error) {
	n := len(b.Files)
	if n == 0 || b.Files[n-1].Path != oneData {
		return nil, fmt.Errorf("bundle: a one-name bundle whose last file is not %s", oneData)
	}
	var own []byte
	var err error
	if p.ownTar(b.Files[n-1]) {
		own, err = p.compress()
	} else {
		own, err = p.member(false, b.Files[n-1:], true)
	}
	if err != nil {
		return nil, err
	}
	tgz := make([]byte, 0, len(p.shared)+len(own))
	return append(append(tgz, p.shared...), own...), nil
}

// member compresses the tar blocks of files (after the top folder's when
// top, with the end-of-archive blocks when last) as one gzip member.
func (p *OnesPacker) member(top bool, files []File, last bool) ([]byte, error) {
	p.raw.Reset()
	tw := tar.NewWriter(&p.raw)
	if top {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: TopDir + "/", Mode: 0o755, ModTime: mtime, Format: tar.FormatUSTAR}); err != nil {
			return nil, err
		}
	}
	for _, f := range files {
		if err := tw.WriteHeader(fileHeader(f)); err != nil {
			return nil, fmt.Errorf("tar %s: %w", f.Path, err)
		}
		if _, err := tw.Write(f.Data); err != nil {
			return nil, fmt.Errorf("tar %s: %w", f.Path, err)
		}
	}
	var err error
	if last {
		err = tw.Close()
	} else {
		err = tw.Flush()
	}
	if err != nil {
		return nil, err
	}
	return p.compress()
}

// compress compresses p.raw as one gzip member.
func (p *OnesPacker) compress() ([]byte, error) {
	var err error
	p.out.Reset()
	if p.zw == nil {
		if p.zw, err = gzip.NewWriterLevel(&p.out, p.level); err != nil {
			return nil, err
		}
	} else {
		p.zw.Reset(&p.out)
	}
	if _, err := p.zw.Write(p.raw.Bytes()); err != nil {
		return nil, err
	}
	if err := p.zw.Close(); err != nil {
		return nil, err
	}
	return bytes.Clone(p.out.Bytes()), nil
}
