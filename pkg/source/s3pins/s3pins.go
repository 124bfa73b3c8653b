// Package s3pins holds niks3's layout of pins in an S3 binary cache: one
// object PREFIX/pins/NAME per pin, whose body is the store path (text,
// a trailing newline allowed), so that a cache made by `nix copy --to
// s3://…` gets names as a Cachix cache has them.
package s3pins

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/kwbauson/create-pin-refs/pkg/s3bucket"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
)

// Folder holds the pins under the bucket's prefix.
const Folder = "pins"

// bodyLimit bounds a pin's object: a store path is at most 211 bytes.
const bodyLimit = 4096

// readers bounds the objects read at once.
const readers = 32

// Bucket is what reading and writing pins needs; *s3bucket.Bucket has it.
type Bucket interface {
	List(ctx context.Context, under string, limit int) ([]s3bucket.Entry, error)
	Get(ctx context.Context, name string, limit int64) (s3bucket.Object, error)
	Put(ctx context.Context, name string, body []byte, o s3bucket.PutOptions) (string, error)
}

// Read returns the pins of the bucket's prefix, at most limit of them, in
// the order of their names, as the Cachix API gives them: the name, and
// the store path as the last revision. Whether each is a store path is
// checked with the rest of the pins (pkg/pins), naming the pin.
func Read(ctx context.Context, b Bucket, limit int) ([]cachix.Pin, error) {
	entries, err := b.List(ctx, Folder, limit)
	if err != nil {
		return nil, err
	}
	pins := make([]cachix.Pin, len(entries))
	errs := make([]error, len(entries))
	var wg sync.WaitGroup
	slots := make(chan struct{}, readers)
	for i, e := range entries {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			obj, err := b.Get(ctx, e.Name, bodyLimit)
			if errors.Is(err, s3bucket.ErrTooLarge) {
				// No store path, as a pin holding garbage: named, and
				// left out under --on-invalid=skip.
				obj.Body, err = []byte(fmt.Sprintf("(an object of more than %d bytes)", bodyLimit)), nil
			}
			if err != nil {
				errs[i] = fmt.Errorf("pin %s: %w", strings.TrimPrefix(e.Name, Folder+"/"), err)
				return
			}
			pins[i] = cachix.Pin{
				Name:         strings.TrimPrefix(e.Name, Folder+"/"),
				LastRevision: cachix.Revision{StorePath: strings.TrimSpace(string(obj.Body))},
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return pins, nil
}

// Write pins name to storePath: the object Folder/name, as niks3 writes it.
func Write(ctx context.Context, b Bucket, name, storePath string) error {
	_, err := b.Put(ctx, Folder+"/"+name, []byte(storePath+"\n"), s3bucket.PutOptions{ContentType: "text/plain; charset=utf-8"})
	return err
}

// Source is the pins of a bucket's prefix as a run reads them (--pins-from).
type Source struct {
	Bucket *s3bucket.Bucket
	// Limit bounds the pins read.
	Limit int
}

// Pins reads the pins.
func (s Source) Pins(ctx context.Context) ([]cachix.Pin, error) {
	pins, err := Read(ctx, s.Bucket, s.Limit)
	if err != nil {
		return nil, fmt.Errorf("reading %s/%s/: %w", s.Bucket.Location(), Folder, err)
	}
	return pins, nil
}

func (s Source) String() string { return "pins from " + s.Bucket.Location().String() }

// FieldName names a field of pin as this layout holds it, for errors: the
// name is the object's, the store path its body.
func (s Source) FieldName(pin, field string) string {
	switch object := s.Bucket.Location().URL(Folder + "/" + pin); field {
	case "name":
		return "the name of " + object
	case "lastRevision", "lastRevision.storePath":
		return "the body of " + object + " (the store path)"
	}
	return field
}
