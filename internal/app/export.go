package app

import (
	"context"
	"log/slog"

	"github.com/aipsec/aip/internal/export"
	"github.com/aipsec/aip/internal/keyring"
)

// startExport runs the S3 export of every enabled enrollment until Close.
// Every node runs one: the durable plan of each object makes concurrent
// exporters upload the same object with the same bytes, never two
// different ones under a key.
func (m *Main) startExport(kr *keyring.Keyring) {
	x := &export.Exporter{
		Store:        m.store,
		Keyring:      kr,
		Logger:       m.Logger,
		PollInterval: m.Config.ExportPollInterval,
		FlushAfter:   m.Config.ExportFlushAfter,
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.stopExport = cancel
	m.exportDone = make(chan struct{})
	go func() {
		defer close(m.exportDone)
		if err := x.Run(ctx); err != nil {
			m.Logger.Error("s3 exporter stopped", slog.Any("error", err))
		}
	}()
}

// closeExport stops the exporter and waits for it: an upload in flight is
// cancelled, its object stays planned and is uploaded again on the next
// start.
func (m *Main) closeExport() {
	m.stopExport()
	<-m.exportDone
}
