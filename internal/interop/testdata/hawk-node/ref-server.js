'use strict';
// The hawk@9.0.2 oracle server of shared/spec/hawk.md §4.2, for differential tests. One change:
// PORT=0 (the default) binds a free loopback port, which is printed on stdout once listening.
// HAWK_CREDS='{"<id>":"<key>"}' [PORT=0] [SKEW=60] node ref-server.js
const Http = require('http');
const Hawk = require('hawk');
const creds = JSON.parse(process.env.HAWK_CREDS || '{}');
const port = parseInt(process.env.PORT || '0', 10);
const skew = parseInt(process.env.SKEW || '60', 10);
const seen = new Map();
const credentialsFunc = (id) => (creds[id] ? { id, key: creds[id], algorithm: 'sha256' } : null);
const nonceFunc = (key, nonce, ts) => { const k = key + '|' + ts + '|' + nonce; if (seen.has(k)) { throw new Error('replay'); } seen.set(k, 1); };
const server = Http.createServer((req, res) => {
    const chunks = []; req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let r;
        try {
            r = await Hawk.server.authenticate(req, credentialsFunc, { nonceFunc, timestampSkewSec: skew });
            if (r.artifacts.hash) { Hawk.server.authenticatePayload(body, r.credentials, r.artifacts, req.headers['content-type']); }
            else if (body.length) { throw Hawk.utils.unauthorized('Missing required payload hash'); }
        } catch (err) {
            const out = err.output || { statusCode: 500, headers: {} };
            res.writeHead(out.statusCode, Object.assign({ 'Content-Type': 'application/json' }, out.headers));
            return res.end(JSON.stringify({ errors: [err.message] }));
        }
        const payload = JSON.stringify({ id: r.credentials.id, ext: r.artifacts.ext || null });
        res.writeHead(200, { 'Content-Type': 'application/json',
            'Server-Authorization': Hawk.server.header(r.credentials, r.artifacts, { payload, contentType: 'application/json' }) });
        res.end(payload);
    });
});
server.listen(port, '127.0.0.1', () => { console.log(server.address().port); });
