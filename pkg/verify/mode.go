package verify

// Mode says what a run does with a pin that fails verification.
type Mode string

// Modes of --verify.
const (
	// Fail stops the run before anything is written.
	Fail Mode = "fail"
	// Warn publishes the pin with a warning.
	Warn Mode = "warn"
	// SkipMissing leaves the pin out with a warning.
	SkipMissing Mode = "skip-missing"
	// Off reads no narinfo.
	Off Mode = "off"
)
