// Package storeutil holds the dialect-independent code the SQLite and
// PostgreSQL stores share: column encodings, the in-memory advisory
// package index, the store's time conventions, the row scanners and the
// query builders whose SQL both dialects accept. Both stores keep
// byte-identical stored formats by construction. Queries are built with
// SQLite-style ? placeholders, which the PostgreSQL store rebinds to $n;
// the multi-row INSERT batcher takes its placeholders from the caller.
package storeutil
