package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/kwbauson/create-pin-refs/pkg/bundle"
)

// tarballLevel is the gzip level bundle.Tarball writes with (TestTarPartsLevel
// checks that recompressing a bundle's tar here gives its bytes again).
const tarballLevel = gzip.DefaultCompression

// tarPart is one part of the tar inside a bundle's .tar.gz: its bytes as they
// are and gzip-compressed alone.
type tarPart struct {
	files   []string
	raw, gz int64
}

// tarParts is what a bundle's .tar.gz is made of.
type tarParts struct {
	tgz, tar int64 // the file's size; the tar's
	// recompressed is the whole tar compressed here: the .tar.gz's size
	// when the bench compresses as the product does.
	recompressed int64
	parts        map[string]*tarPart
}

// partOf names the part a file of the bundle belongs to.
func partOf(name string) string {
	switch {
	case strings.HasPrefix(name, "data/shards/"):
		return "shards"
	case name == "data/index/all.json":
		return "index/all.json"
	case strings.HasPrefix(name, "data/index/absent/"), name == "data/index/any.json":
		return "index/absent + any.json"
	case name == "README.md":
		return "README.md"
	case path.Ext(name) == ".nix":
		return "Nix files"
	}
	return "other"
}

// readTarParts splits the tar inside the .tar.gz file into its parts, the
// tar's own blocks (headers, end of archive) being one, and compresses each
// alone as bundle.Tarball compresses the whole.
func readTarParts(file string) (tarParts, error) {
	tgz, err := os.ReadFile(file)
	if err != nil {
		return tarParts{}, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		return tarParts{}, fmt.Errorf("%s: %w", file, err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return tarParts{}, fmt.Errorf("%s: %w", file, err)
	}
	t := tarParts{tgz: int64(len(tgz)), tar: int64(len(raw)), parts: map[string]*tarPart{}}
	data := map[string]*bytes.Buffer{}
	add := func(part, name string, b []byte) {
		if t.parts[part] == nil {
			t.parts[part], data[part] = &tarPart{}, &bytes.Buffer{}
		}
		if name != "" {
			t.parts[part].files = append(t.parts[part].files, name)
		}
		data[part].Write(b)
	}
	// USTAR as bundle.Tarball writes it: a 512-byte header, the data padded
	// to 512 bytes; blocks of zeros end the archive. Padding counts as the
	// tar's own, like headers.
	for off := 0; off < len(raw); {
		if off+512 > len(raw) {
			return tarParts{}, fmt.Errorf("%s: a tar block cut at byte %d", file, off)
		}
		hdr := raw[off : off+512]
		off += 512
		size, err := strconv.ParseInt(strings.Trim(string(hdr[124:136]), " \x00"), 8, 64)
		if err != nil && !allZero(hdr) {
			return tarParts{}, fmt.Errorf("%s: tar header at byte %d: size %q", file, off-512, hdr[124:136])
		}
		padded := int((size + 511) / 512 * 512)
		if off+padded > len(raw) {
			return tarParts{}, fmt.Errorf("%s: tar entry at byte %d runs past the end", file, off-512)
		}
		name := cString(hdr[0:100])
		if prefix := cString(hdr[345:500]); prefix != "" {
			name = prefix + "/" + name
		}
		add("tar headers", "", hdr)
		if typ := hdr[156]; size > 0 && (typ == '0' || typ == 0) {
			rel := strings.TrimPrefix(name, bundle.TopDir+"/")
			add(partOf(rel), rel, raw[off:off+int(size)])
			add("tar headers", "", raw[off+int(size):off+padded])
		} else {
			add("tar headers", "", raw[off:off+padded]) // pax records and the like
		}
		off += padded
	}
	if t.recompressed, err = gzipSize(raw); err != nil {
		return tarParts{}, err
	}
	for part, p := range t.parts {
		p.raw = int64(data[part].Len())
		if p.gz, err = gzipSize(data[part].Bytes()); err != nil {
			return tarParts{}, err
		}
	}
	return t, nil
}

func gzipSize(b []byte) (int64, error) {
	var out bytes.Buffer
	zw, err := gzip.NewWriterLevel(&out, tarballLevel)
	if err != nil {
		return 0, err
	}
	if _, err := zw.Write(b); err != nil {
		return 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	return int64(out.Len()), nil
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// writeTarball writes the "Tarball" section: for each pin count, one run's
// .tar.gz split into its parts, each compressed alone, beside the original's.
func (r *report) writeTarball(w io.Writer) {
	var rows []producerRow
	for _, p := range r.producers {
		if p.tool != "create-pin-refs" || p.parts.tgz == 0 {
			continue
		}
		if len(rows) > 0 && rows[len(rows)-1].pins == p.pins {
			if rows[len(rows)-1].mode != "pages" && p.mode == "pages" {
				rows[len(rows)-1] = p
			}
			continue
		}
		rows = append(rows, p)
	}
	if len(rows) == 0 {
		return
	}
	// The parts in the order the table shows them.
	tarPartNames := []string{"shards", "index/all.json", "index/absent + any.json", "README.md", "Nix files", "other", "tar headers"}
	fmt.Fprintln(w, "## Tarball")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "What the all-pins bundle's `pins.tar.gz` is made of (the pages run's, else the first run's): the tar inside it "+
		"split into parts, each part's files compressed alone as the product compresses the whole (klauspost gzip, default level), "+
		"KiB compressed (KiB as they are). Compressed together, a part borrows from its neighbour only within gzip's 32 KiB window, "+
		"so the parts add up to about the .tar.gz. What limits it: the shards alone, which hold what the original's pins.nix holds "+
		"(each pin's name, system and store path, whose 32-character hash is 20 bytes no compressor removes) plus each pin's program "+
		"and revision, in JSON objects, compress to about the original's whole .tar.gz; the index (every name with its shard, so "+
		"that Nix reads one small shard rather than every pin: the evaluation speed of the Consumer section), the per-system "+
		"absent lists and the README are what the bundle adds on top.")
	fmt.Fprintln(w)
	fmt.Fprint(w, "| pins | mode | .tar.gz (tar) |")
	for _, name := range tarPartNames {
		fmt.Fprintf(w, " %s |", name)
	}
	fmt.Fprintln(w, " sum of the parts | original's .tar.gz | shards alone ÷ original's |")
	fmt.Fprintln(w, "|---:|---|---:|"+strings.Repeat("---:|", len(tarPartNames)+3))
	for _, p := range rows {
		orig := r.original(p.pins).tarball
		fmt.Fprintf(w, "| %s | %s | %s (%s) |", count(p.pins), p.mode, kib1(p.parts.tgz), kib1(p.parts.tar))
		var sum int64
		for _, name := range tarPartNames {
			part := p.parts.parts[name]
			if part == nil {
				fmt.Fprint(w, " – |")
				continue
			}
			sum += part.gz
			cell := fmt.Sprintf("%s (%s)", kib1(part.gz), kib1(part.raw))
			if name == "other" {
				cell += ": " + strings.Join(part.files[:min(3, len(part.files))], ", ")
				if len(part.files) > 3 {
					cell += "…"
				}
			}
			fmt.Fprintf(w, " %s |", cell)
		}
		ratio := "–"
		if s := p.parts.parts["shards"]; s != nil && orig > 0 {
			ratio = fmt.Sprintf("%.2f", float64(s.gz)/float64(orig))
		}
		fmt.Fprintf(w, " %s | %s | %s |\n", kib1(sum), kib1(orig), ratio)
	}
	fmt.Fprintln(w)
}

func kib1(n int64) string { return fmt.Sprintf("%.1f KiB", float64(n)/1024) }
