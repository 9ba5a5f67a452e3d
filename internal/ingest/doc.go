// Package ingest decodes the bodies agents POST to /agent/v1/events into
// batches of events ready to be stored and evaluated.
//
// It is pure: no I/O besides reading the body it is given, no clock, no
// storage. Decode streams the body once, compacting each event into shared
// storage as it goes, so a batch costs about one compact copy of its kept
// events in memory, never the whole body, its decompressed form and a parse
// tree at once.
//
// Wire format, as this package decides it:
//   - The body is a JSON array of events, or NDJSON (one event per line).
//     The first character other than whitespace (after an optional UTF-8
//     byte order mark) decides: '[' is an array, '{' is NDJSON. A single
//     event object on one line is therefore a valid NDJSON body.
//     Content-Type may be application/json, application/x-ndjson,
//     application/ndjson or absent, whatever the shape; a charset other
//     than UTF-8 is refused.
//   - Content-Encoding may be gzip (x-gzip), identity or absent. Limits
//     apply to the body as sent and to its decompressed form, which stops a
//     gzip bomb as soon as it expands past MaxDecodedBytes.
//   - NDJSON events must each fit on one line. A line that is not valid JSON
//     is rejected on its own and decoding goes on at the next line; blank
//     lines are skipped and not counted. A syntax error in an array cannot
//     be confined to one element, so it fails the whole body.
//   - Records are numbered from 0 in body order (array elements, or the
//     non-blank lines of NDJSON). Every record ends up either in
//     Batch.Events or in Batch.Rejected with its index.
//
// An event is kept when it is a JSON object with
//   - "_id": a string UUID in the 8-4-4-4-12 hex form, any case, not the
//     nil UUID; it is stored lower-cased, in Event.ID and in Event.Raw;
//   - "event_type": a string of 1 to 64 lower-case letters, digits and
//     underscores starting with a letter (the event types of
//     rules-events.md §3.1, and room for new ones);
//   - "timestamp", when present and not null: an integer number of epoch
//     milliseconds from 0 to 9999-12-31T23:59:59.999Z;
//   - each of those three keys once only, so that no reader can see a
//     different value than the one validated here;
//   - at most MaxEventBytes in compact form and MaxDepth levels of nesting,
//     so that every kept event also decodes with rules.DecodeEvent;
//   - an _id no earlier kept event of the same batch has. Re-sent ids across
//     batches are the store's business.
//
// Invalid UTF-8 inside strings is replaced by U+FFFD (as encoding/json
// does) rather than rejected, so that one odd byte in a command line does
// not lose a security event.
package ingest
