package main

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/kwbauson/create-pin-refs/test/chrome"
	"github.com/kwbauson/create-pin-refs/test/netem"
)

// pageLoad opens the index page of siteDir, served on 127.0.0.1, in headless
// Chromium and returns the time until the finder had every name (the median of
// runs, each in a fresh browser so that nothing is cached), over link.
func pageLoad(ctx context.Context, siteDir string, runs int, link netem.Link) (time.Duration, error) {
	inner, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	l := netem.Listen(inner, link)
	srv := &http.Server{Handler: http.FileServer(http.Dir(siteDir))}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()
	var times []time.Duration
	for range runs {
		tab, stop, err := chrome.Start(ctx)
		if err != nil {
			return 0, err
		}
		took, _, err := chrome.Open(tab, "http://"+l.Addr().String()+"/", 2*time.Minute)
		stop()
		if err != nil {
			return 0, err
		}
		times = append(times, took)
	}
	return medianDuration(times), nil
}
