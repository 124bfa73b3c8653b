package s3

import (
	"bytes"
	stdgzip "compress/gzip"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/klauspost/compress/gzip"
	fastjson "github.com/segmentio/encoding/json"
)

// MarkerName is the object at the top of the prefix that says create-pin-refs
// publishes there, and lists what it wrote: each object's name and the MD5
// of its content. A publish compares its files with that list, not with a
// listing of the bucket: one request at any size, and an object that
// create-pin-refs did not write is never replaced or deleted, unless named
// as one of the site's files.
const MarkerName = ".create-pin-refs"

// markerFormat is the marker's format; a newer one is refused.
const markerFormat = 1

// markerLimit bounds the marker read: 100,000 names with one-name bundles
// list some 300,000 objects, a few MB compressed.
const markerLimit = 64 << 20

// ErrNotOurs is a prefix holding objects but no marker, or a marker that is
// not create-pin-refs' own: a publish would replace what someone else put
// there. Test for it with errors.Is.
var ErrNotOurs = errors.New("not create-pin-refs' prefix")

// marker is the content of MarkerName: JSON, gzip-compressed.
type marker struct {
	Generator string `json:"generator"`
	Format    int    `json:"format"`
	// Objects maps each name written to the base64 MD5 of its content.
	Objects map[string]string `json:"objects"`
}

const generator = "create-pin-refs"

func sum(data []byte) string {
	s := md5.Sum(data)
	return base64.RawStdEncoding.EncodeToString(s[:])
}

func (m *marker) encode() ([]byte, error) {
	var buf bytes.Buffer
	zw, err := stdgzip.NewWriterLevel(&buf, stdgzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	// encoding/json sorts a map's keys: the same list is the same bytes.
	if err := json.NewEncoder(zw).Encode(m); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// parseMarker reads a marker; an error says why it is not one of ours
// (wrapping ErrNotOurs) or is of a newer format.
func parseMarker(data []byte) (*marker, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not a create-pin-refs marker (%v)", ErrNotOurs, MarkerName, err)
	}
	// A map made to size: growing it to 150,000 names took a fifth of the
	// time. Each name takes some 10 of the compressed bytes (a one-name
	// bundle's two, 60 bytes of JSON, compress to 16).
	m := marker{Objects: make(map[string]string, len(data)/10)}
	// segmentio's decoder reads 150,000 names in a third of encoding/json's
	// time, as the first value of the stream like it.
	if err := fastjson.NewDecoder(io.LimitReader(zr, 8*markerLimit)).Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %s is not a create-pin-refs marker (%v)", ErrNotOurs, MarkerName, err)
	}
	switch {
	case m.Generator != generator:
		return nil, fmt.Errorf("%w: %s names generator %q", ErrNotOurs, MarkerName, m.Generator)
	case m.Format > markerFormat:
		return nil, fmt.Errorf("%s is of format %d, newer than this version's %d: update create-pin-refs", MarkerName, m.Format, markerFormat)
	}
	if m.Objects == nil { // "objects": null
		m.Objects = map[string]string{}
	}
	return &m, nil
}

// sumAll sums each file's content, by name, on every core, and each
// content once: the one-name bundles' two names (p/NAME, p/NAME.tar.gz)
// hold the same bytes, not copies of them.
func sumAll(files map[string][]byte) map[string]string {
	type key struct {
		first *byte
		n     int
	}
	var unique [][]byte
	index := make(map[key]int, len(files))
	of := make(map[string]int, len(files))
	for name, data := range files {
		if len(data) == 0 {
			of[name] = -1
			continue
		}
		k := key{&data[0], len(data)}
		i, ok := index[k]
		if !ok {
			i = len(unique)
			index[k] = i
			unique = append(unique, data)
		}
		of[name] = i
	}
	sums := make([]string, len(unique))
	workers := max(1, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(unique); i += workers {
				sums[i] = sum(unique[i])
			}
		})
	}
	wg.Wait()
	out := make(map[string]string, len(files))
	empty := sum(nil)
	for name, i := range of {
		if i < 0 {
			out[name] = empty
		} else {
			out[name] = sums[i]
		}
	}
	return out
}
