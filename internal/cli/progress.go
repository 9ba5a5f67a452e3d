package cli

import (
	"io"

	"github.com/schollz/progressbar/v3"
)

// newProgress returns a progress bar on stderr for total steps (-1 when
// unknown) described by what, shown only when stderr is a terminal: piped
// or logged stderr gets no control characters. Call Add as work is done
// and Finish at the end; both are no-ops on the hidden bar.
func (a *app) newProgress(total int64, what string) *progressbar.ProgressBar {
	w := a.env.Stderr
	if !a.env.IsTerminal(w) {
		w = io.Discard
	}
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionThrottle(100_000_000), // 100ms between redraws
		progressbar.OptionClearOnFinish(),
	)
}
