package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kwbauson/create-pin-refs/pkg/actions"
	"github.com/kwbauson/create-pin-refs/pkg/config"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
)

// runCommand runs the subcommand that args start with; ok is false when they
// start with none, and the program publishes.
func runCommand(ctx context.Context, args []string, env Env) (code int, ok bool) {
	if len(args) == 0 || !config.IsCommand(args[0]) {
		return 0, false
	}
	// The result goes to stdout, alone: every log line, annotations
	// included, goes to stderr.
	logEnv := env
	logEnv.Stdout = env.Stderr
	rep, sink := newReporter(logEnv)
	for _, secret := range config.SecretValues(args, env.Getenv) {
		rep.Mask(secret)
	}
	out := dataOut{env.Stdout, sink}
	var (
		usage strings.Builder
		api   config.API
		run   func(context.Context) error
		err   error
	)
	name, args := args[0], args[1:]
	switch name {
	case config.CommandList:
		var cfg *config.List
		if cfg, err = config.LoadList(args, env.Getenv, &usage); err == nil {
			api, run = cfg.API, func(ctx context.Context) error { return runList(ctx, cfg, env, rep, out) }
		}
	case config.CommandResolve:
		var cfg *config.Resolve
		if cfg, err = config.LoadResolve(args, env.Getenv, &usage); err == nil {
			api, run = cfg.API, func(ctx context.Context) error { return runResolve(ctx, cfg, env, rep, out) }
		}
	case config.CommandPin:
		var cfg *config.Pin
		if cfg, err = config.LoadPin(args, env.Getenv, &usage); err == nil {
			api, run = cfg.API, func(ctx context.Context) error { return runPin(ctx, cfg, env, rep) }
		}
	}
	if usage.Len() > 0 {
		fmt.Fprintln(env.Stderr, strings.Join(sink.Lines(strings.TrimSuffix(usage.String(), "\n")), "\n"))
	}
	if err == nil {
		ctx, cancel := env.Retry.Bound(ctx)
		defer cancel()
		err = explain(run(ctx), &config.Config{Cache: api.Cache, CachixURL: api.CachixURL, AuthToken: api.AuthToken})
	}
	switch {
	case err == nil:
		return ExitOK, true
	case errors.Is(err, config.ErrHelp):
		return ExitOK, true
	case errors.Is(err, config.ErrUsage):
		rep.Errorf("%v (see create-pin-refs %s --help)", err, name)
		return ExitUsage, true
	}
	rep.Errorf("%v", err)
	return ExitError, true
}

// dataOut prints a subcommand's result on stdout through the sink, like every
// text from outside.
type dataOut struct {
	w    io.Writer
	sink *actions.Sink
}

func (d dataOut) print(text string) error {
	_, err := fmt.Fprintln(d.w, strings.Join(d.sink.Lines(strings.TrimSuffix(text, "\n")), "\n"))
	return err
}

// newCachixClient is a client of the Cachix API, or of a binary cache, that
// logs its retries.
func newCachixClient(env Env, rep reporter, baseURL, token string) (*cachix.Client, error) {
	return cachix.New(baseURL,
		cachix.WithHTTPClient(env.HTTPClient),
		cachix.WithToken(token),
		cachix.WithUserAgent("create-pin-refs/"+env.Version),
		cachix.WithRetry(retryPolicy(env, rep)),
	)
}

// apiClient is the Cachix API client of a subcommand.
func apiClient(env Env, rep reporter, a config.API) (*cachix.Client, error) {
	c, err := newCachixClient(env, rep, a.CachixURL, a.AuthToken)
	if err != nil {
		return nil, fmt.Errorf("%w: --cachix-url: %w", config.ErrUsage, err)
	}
	return c, nil
}

// readCachePins reads every pin of the cache a subcommand names.
func readCachePins(ctx context.Context, env Env, rep reporter, a config.API) ([]cachix.Pin, error) {
	c, err := apiClient(env, rep, a)
	if err != nil {
		return nil, err
	}
	return c.Pins(ctx, a.Cache)
}
