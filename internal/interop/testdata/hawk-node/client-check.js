'use strict';
// The node client exactly as the Threat Stack node example uses it (shared/spec/hawk.md §4.2):
// it signs, sends, then validates Server-Authorization (mac + hash, required on 200) or the
// WWW-Authenticate tsm, and exits 1 when it rejects the response.
// HAWK_ID=… HAWK_KEY=… HAWK_EXT=… [HAWK_OFFSET_MS=-600000] node client-check.js METHOD URL [BODY]
const Http = require('http');
const Hawk = require('hawk');
const [method, url, body] = process.argv.slice(2);
const credentials = { id: process.env.HAWK_ID, key: process.env.HAWK_KEY, algorithm: 'sha256' };
const opts = { credentials, ext: process.env.HAWK_EXT, localtimeOffsetMsec: parseInt(process.env.HAWK_OFFSET_MS || '0', 10) };
if (body !== undefined) { opts.payload = body; opts.contentType = 'application/json'; }
const { header, artifacts } = Hawk.client.header(url, method, opts);
const u = new URL(url);
const req = Http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method,
    headers: Object.assign({ Authorization: header }, body !== undefined ? { 'Content-Type': 'application/json' } : {}) }, (res) => {
    let data = ''; res.setEncoding('utf8'); res.on('data', (c) => (data += c));
    res.on('end', () => {
        try {
            const r = Hawk.client.authenticate(res, credentials, artifacts, { payload: data, required: res.statusCode === 200 });
            console.log(res.statusCode, 'response authenticated', JSON.stringify(r.headers));
        } catch (e) { console.log(res.statusCode, 'RESPONSE REJECTED:', e.message); process.exitCode = 1; }
    });
});
if (body !== undefined) { req.write(body); }
req.end();
