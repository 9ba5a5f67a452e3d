// Package storeutil holds the dialect-independent code the SQLite and
// PostgreSQL stores share: column encodings, the in-memory advisory
// package index, the store's time conventions and the multi-row INSERT
// batcher. Both stores keep byte-identical stored formats by construction;
// the only SQL built here takes its placeholders from the calling store.
package storeutil
