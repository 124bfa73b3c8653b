package cachix

import "context"

// API is a cache's pins as the Cachix API lists them, read by a run.
type API struct {
	Client *Client
	Cache  string
}

// Pins reads the pins.
func (a API) Pins(ctx context.Context) ([]Pin, error) { return a.Client.Pins(ctx, a.Cache) }

func (a API) String() string { return "pins of " + a.Cache }

// File is a file holding what the API's pin list holds (--pins-file).
type File string

// Pins reads the file.
func (f File) Pins(context.Context) ([]Pin, error) { return ReadPinsFile(string(f)) }

func (f File) String() string { return "pins from " + string(f) }
