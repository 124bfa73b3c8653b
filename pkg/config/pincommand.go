package config

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/kwbauson/create-pin-refs/pkg/bundle"
	"github.com/kwbauson/create-pin-refs/pkg/s3bucket"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
	"github.com/kwbauson/create-pin-refs/pkg/weburl"
)

// Pin is the configuration of `create-pin-refs pin`.
type Pin struct {
	API
	Substituter string // empty: the cache's uri
	NetrcFile   string // HTTP basic auth for the binary cache, by host
	Name        string
	Path        string // a store path, or a symlink to one
	Artifacts   []string
	Keep        *cachix.Keep // nil: Cachix's default
	Wait        time.Duration
	// Store, when set, is an S3 binary cache (s3://BUCKET[/PREFIX]) that
	// gets the pin in niks3's layout instead of Cachix; S3Endpoint as for
	// --mode s3.
	Store, S3Endpoint string
	// PublicKeys, with Store, are the keys PATH's narinfo must be signed
	// with (nil: not checked; an unsigned one is a warning).
	PublicKeys []string
}

// LoadPin reads the arguments of `pin`.
func LoadPin(args []string, getenv func(string) string, out io.Writer) (*Pin, error) {
	cfg := &Pin{}
	c := newCommand(CommandPin, "--cache NAME [flags] PIN PATH\n       create-pin-refs pin --store s3://BUCKET[/PREFIX] [flags] PIN PATH",
		"Pins PATH in the cache under the name PIN (a new pin, or its next revision).\n"+
			"PATH is a store path or a symlink to one, such as the result link of nix build:\n"+
			"the link is read, so the store need not be here. The path must be in the binary\n"+
			"cache already (cachix push); the pin then has to show in the cache's list.\n"+
			"With --store, the pin is the object PREFIX/pins/PIN of an S3 cache instead (the\n"+
			"path copied there first: nix copy --to s3://…), and no Cachix flag is taken.\n"+
			"{system} in PIN is the system this runs on, as in hello.{system}.", out, getenv)
	c.api(&cfg.API)
	c.fs.Lookup("auth-token").Usage = "Cachix auth `token` with write access to the cache (required without --store; env CACHIX_AUTH_TOKEN)"
	c.fs.Lookup("cache").Usage = "Cachix cache `name` (required without --store)"
	c.fs.StringVar(&cfg.Substituter, "substituter", "", "binary cache `URL` checked for PATH (default: the cache's uri; with --store, the bucket itself); the token is sent to it only at that uri's origin")
	c.fs.StringVar(&cfg.NetrcFile, "netrc-file", "", "netrc `file` read as Nix's netrc-file: a machine HOST entry is sent as HTTP basic auth to the binary cache on HOST (such as a --substituter elsewhere), and nowhere else")
	c.fs.Func("artifact", "a `file` inside PATH worth naming, such as bin/hello (the program of an app); repeatable", func(v string) error {
		cfg.Artifacts = append(cfg.Artifacts, v)
		return nil
	})
	c.fs.StringVar(&cfg.Store, "store", "", "pin in this S3 binary cache, `s3://BUCKET[/PREFIX]`, in niks3's layout (the object PREFIX/pins/PIN holding the path) instead of Cachix; PATH's narinfo is checked in the bucket through the S3 API, or at --substituter when given; credentials from the AWS settings")
	c.fs.StringVar(&cfg.S3Endpoint, "s3-endpoint", "", "S3 endpoint `URL` for --store on a service other than AWS, addressed path-style")
	c.fs.Func("public-keys", "with --store, the public `keys` PATH's narinfo must be signed with, NAME:BASE64KEY as in trusted-public-keys (comma or space separated; repeatable): the ones --pins-from is given", func(v string) error {
		cfg.PublicKeys = append(cfg.PublicKeys, strings.FieldsFunc(v, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })...)
		return nil
	})
	var keep keepFlags
	c.fs.IntVar(&keep.revisions, "keep-revisions", 0, "keep the last `N` revisions of the pin")
	c.fs.IntVar(&keep.days, "keep-days", 0, "keep revisions for `N` days")
	c.fs.BoolVar(&keep.forever, "keep-forever", false, "keep every revision")
	c.fs.DurationVar(&cfg.Wait, "wait", DefaultPinWait, "how long to wait for the new pin to show in the cache's list (0: do not check)")
	if err := c.parse(args, &cfg.Name, &cfg.Path); err != nil {
		return nil, err
	}
	if cfg.Store != "" {
		return cfg, cfg.validateStore(c.fs)
	}
	if len(cfg.PublicKeys) > 0 {
		return nil, bad("public-keys", "only with --store: a Cachix cache's narinfo files are signed with its own keys")
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	var err error
	if cfg.Keep, err = keep.policy(c.fs); err != nil {
		return nil, err
	}
	switch {
	case cfg.AuthToken == "":
		return nil, bad("auth-token", "required to pin (a Cachix token with write access to %s; or set CACHIX_AUTH_TOKEN)", cfg.Cache)
	case cfg.Name == "":
		return nil, fmt.Errorf("%w: pin: the pin name is empty", ErrUsage)
	case cfg.Path == "":
		return nil, fmt.Errorf("%w: pin: the path is empty", ErrUsage)
	}
	if err := checkPlaceholders(cfg.Name); err != nil {
		return nil, fmt.Errorf("%w: pin: %w", ErrUsage, err)
	}
	switch {
	case cfg.Wait < 0:
		return nil, bad("wait", "%s is negative", cfg.Wait)
	}
	if hasControl(cfg.NetrcFile) {
		return nil, bad("netrc-file", "%q holds a control character; choose another path", cfg.NetrcFile)
	}
	if cfg.Substituter != "" {
		if _, err := weburl.Parse(cfg.Substituter); err != nil {
			return nil, bad("substituter", "%v", err)
		}
	}
	return cfg, nil
}

type keepFlags struct {
	revisions, days int
	forever         bool
}

// policy turns at most one of the keep flags into a policy.
func (k keepFlags) policy(fs *flag.FlagSet) (*cachix.Keep, error) {
	var set []string
	fs.Visit(func(f *flag.Flag) {
		if strings.HasPrefix(f.Name, "keep-") {
			set = append(set, "--"+f.Name)
		}
	})
	switch {
	case len(set) > 1:
		return nil, fmt.Errorf("%w: %s: give one of them", ErrUsage, strings.Join(set, ", "))
	case len(set) == 0:
		return nil, nil
	case set[0] == "--keep-forever":
		if !k.forever {
			return nil, nil
		}
		return cachix.KeepForever(), nil
	}
	n, name := k.revisions, "keep-revisions"
	if set[0] == "--keep-days" {
		n, name = k.days, "keep-days"
	}
	if n < 1 {
		return nil, bad(name, "%s is not a positive number", strconv.Itoa(n))
	}
	if name == "keep-days" {
		return cachix.KeepDays(n), nil
	}
	return cachix.KeepRevisions(n), nil
}

// validateStore checks `pin --store`: an S3 cache, where the path is
// checked (through the S3 API, or at --substituter), and none of what only
// Cachix takes.
func (cfg *Pin) validateStore(fs *flag.FlagSet) error {
	var cachixOnly []string
	fs.Visit(func(f *flag.Flag) {
		switch name := f.Name; {
		case strings.HasPrefix(name, "keep-"), name == "artifact", name == "wait", name == "cache", name == "auth-token", name == "cachix-url":
			cachixOnly = append(cachixOnly, "--"+name)
		}
	})
	switch {
	case cfg.Name == "":
		return fmt.Errorf("%w: pin: the pin name is empty", ErrUsage)
	case cfg.Path == "":
		return fmt.Errorf("%w: pin: the path is empty", ErrUsage)
	case len(cachixOnly) > 0:
		return bad("store", "takes none of %s, which are for Cachix: an S3 cache's pin is one object holding the store path, with no revisions, artifacts or list to wait for", strings.Join(cachixOnly, ", "))
	case strings.ContainsRune(cfg.Name, '/') || strings.HasPrefix(cfg.Name, ".") || strings.ContainsFunc(cfg.Name, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return fmt.Errorf("%w: pin: %q cannot name an S3 cache's pin: the object pins/NAME needs a name with no slash, no leading dot and no white space", ErrUsage, cfg.Name)
	}
	if _, err := s3bucket.ParseLocation(cfg.Store); err != nil {
		return bad("store", "%v", err)
	}
	if cfg.Substituter != "" {
		if _, err := weburl.Parse(cfg.Substituter); err != nil {
			return bad("substituter", "%v", err)
		}
	}
	if cfg.S3Endpoint != "" {
		if err := s3bucket.CheckEndpoint(cfg.S3Endpoint); err != nil {
			return bad("s3-endpoint", "%v", err)
		}
	}
	for _, k := range cfg.PublicKeys {
		if err := bundle.CheckPublicKey(k); err != nil {
			return bad("public-keys", "%v", err)
		}
	}
	if err := checkPlaceholders(cfg.Name); err != nil {
		return fmt.Errorf("%w: pin: %w", ErrUsage, err)
	}
	return nil
}
