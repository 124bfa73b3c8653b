package cli

import (
	"fmt"
	"sync"
)

// heldLog keeps the lines of work done alongside other work (a request
// made while others are) until flush prints them, in order, where that
// work is waited for: the log says the same in the same order however the
// requests' answers happen to arrive.
type heldLog struct {
	mu    sync.Mutex
	lines []string
}

func (h *heldLog) Logf(format string, args ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lines = append(h.lines, fmt.Sprintf(format, args...))
}

// flush logs the lines held so far.
func (h *heldLog) flush(rep reporter) {
	h.mu.Lock()
	lines := h.lines
	h.lines = nil
	h.mu.Unlock()
	for _, l := range lines {
		rep.Logf("%s", l)
	}
}

// heldReporter is rep with its progress lines held in log; warnings and
// errors, which the work held never prints, go through.
type heldReporter struct {
	reporter
	log *heldLog
}

func (h heldReporter) Logf(format string, args ...any) { h.log.Logf(format, args...) }
