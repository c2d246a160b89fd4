// Minimal token issuer for nss-pam-oidc tests: publishes discovery + JWKS for
// keys kept in STATE_DIR/mini-keys; tokens are minted offline by mint.mjs.
// Started by idp-ctl.sh:  node mini-issuer.mjs --state STATE_DIR [--port N | --prefer-port N]
//
// Endpoints:  /.well-known/openid-configuration   /jwks   /stats (request counters)

import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  die, ensureMiniKeys, publicJwk, watchStateDir, writeFileAtomic,
} from './lib.mjs';

const { values: args } = parseArgs({
  options: {
    state: { type: 'string' },
    port: { type: 'string', default: '0' },
    'prefer-port': { type: 'string' },
  },
});
if (!args.state) die('usage: mini-issuer.mjs --state STATE_DIR [--port N | --prefer-port N]');
const stateDir = path.resolve(args.state);

const keys = ensureMiniKeys(stateDir);
const jwks = JSON.stringify({ keys: keys.map(publicJwk) });
const stats = { discovery: 0, jwks: 0, other: 0 };

const server = https.createServer({
  key: fs.readFileSync(path.join(stateDir, 'server.key')),
  cert: fs.readFileSync(path.join(stateDir, 'server.pem')),
});

async function listen(port, retry = true) {
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => { server.off('error', reject); resolve(); });
      });
      return;
    } catch (err) {
      if (!retry || err.code !== 'EADDRINUSE' || port === 0 || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
if (args['prefer-port'] && Number(args.port) === 0) {
  try { await listen(Number(args['prefer-port']), false); } catch { await listen(0); }
} else {
  await listen(Number(args.port));
}

const ISSUER = `https://127.0.0.1:${server.address().port}`;
const discovery = JSON.stringify({
  issuer: ISSUER,
  jwks_uri: `${ISSUER}/jwks`,
  id_token_signing_alg_values_supported: ['RS256', 'ES256', 'EdDSA'],
  response_types_supported: ['id_token'],
  subject_types_supported: ['public'],
  claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'jti'],
});

function send(res, status, body, type = 'application/json') {
  res.statusCode = status;
  res.setHeader('content-type', type);
  res.setHeader('content-length', Buffer.byteLength(body));
  res.setHeader('cache-control', 'max-age=300');
  res.end(body);
}

server.on('request', (req, res) => {
  const { pathname } = new URL(req.url, ISSUER);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    stats.other += 1;
    return send(res, 405, '{"error":"method_not_allowed"}\n');
  }
  switch (pathname) {
    case '/.well-known/openid-configuration':
      stats.discovery += 1;
      return send(res, 200, discovery);
    case '/jwks':
      stats.jwks += 1;
      return send(res, 200, jwks);
    case '/stats':
      res.setHeader('cache-control', 'no-store');
      res.setHeader('content-type', 'application/json');
      return res.end(`${JSON.stringify(stats)}\n`);
    default:
      stats.other += 1;
      return send(res, 404, '{"error":"not_found"}\n');
  }
});

writeFileAtomic(path.join(stateDir, 'mini.url'), `${ISSUER}\n`);
console.log(`${new Date().toISOString()} mini issuer listening: issuer ${ISSUER} pid ${process.pid} kids: ${keys.map((k) => `${k.kid}(${k.alg})`).join(' ')}`);

const shutdown = () => { server.close(); server.closeAllConnections(); process.exit(0); };
watchStateDir(stateDir, 'mini');
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
