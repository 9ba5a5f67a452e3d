// Package storeutil holds the dialect-independent code the SQLite and
// PostgreSQL stores share: column encodings, the in-memory advisory
// package index and the store's time conventions. Nothing here builds SQL,
// so that both stores keep byte-identical stored formats by construction.
package storeutil
