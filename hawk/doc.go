// Package hawk implements Hawk 1 HTTP authentication (header scheme,
// HMAC-SHA256 only) for the aip server and its Go client, with the standard
// library alone.
//
// The reference is mozilla/hawk 9.0.2 ("the code is the specification"); our
// notes on it are in shared/spec/hawk.md. Normalized strings, payload hashes,
// tsm, the header grammar and every error message and status follow it, so
// that the Threat Stack clients (the ts CLI on tent/hawk-go, the node, python
// and java examples) work unchanged. We deviate where the reference is unsafe
// or where our clients need it:
//
//   - Only sha256. Threat Stack keys never use sha1, and the algorithm is
//     bound to the key, not negotiated.
//   - ts must be 1 to 15 decimal digits (400 "Bad attribute value: ts"). The
//     reference accepts ts="abc", whose staleness test is NaN and so never
//     fails, and fractional seconds. Leading zeros stay accepted and are
//     MAC-verified as sent.
//   - dlg without app is rejected (400): the MAC covers dlg only with app.
//   - A present payload hash is always verified against the received body,
//     and a non-empty body without hash is rejected ("Missing required
//     payload hash"). The reference trusts the client's hash unless the
//     application asks (mozilla/hawk#284). An empty body needs no hash.
//   - The timestamp is checked before the nonce, and the nonce is recorded
//     only after the MAC verified and the timestamp is fresh, so that
//     neither forged nor stale requests fill the replay cache. A stale replay
//     therefore answers "Stale timestamp" where the reference says "Invalid
//     nonce"; both are 401.
//   - Nonces are keyed on (id, ts, nonce) for 2×skew in a store shared by all
//     replicas (NonceStore). A full store refuses requests (503) rather than
//     forgetting nonces and letting replays through.
//   - Host and port are what the HTTP layer resolved (SplitHostPort): the
//     explicit port of the Host header or a configured default, never the
//     listening socket. IPv6 hosts are signed without brackets, as every
//     client does (the reference server keeps them and fails its own client).
//   - The resource is the raw request-target, never the decoded path;
//     absolute-form is reduced to path and query (mozilla/hawk#117).
//   - Server-Authorization always carries the response payload hash and no
//     ext: the node and python examples reject responses without hash.
//   - The header parser is hand-written, without regexps, but reproduces the
//     reference's regexps, including "the last attribute error wins". JavaScript
//     \s also matches some non-ASCII spaces; we accept ASCII whitespace only.
//     A missing header answers "Missing authentication" and a foreign scheme
//     "Unsupported authentication scheme", both 401 with "WWW-Authenticate:
//     Hawk" (the reference has no message there).
//   - Bewits (single-URI authorization) are not implemented: no Threat Stack
//     client uses them. MAC still supports the "bewit" kind.
package hawk
