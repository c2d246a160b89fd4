// Mint an arbitrary compact JWS with the mini issuer's keys.
//
// node mint.mjs --state STATE_DIR [--alg RS256|ES256|EdDSA|HS256|none] [--kid KID] [--no-kid]
//               [--unpublished] [--iss URL] [--aud AUD] [--sub SUB] [--exp-in SECONDS]
//               [--iat-offset SECONDS] [--claims JSON] [--header JSON]
//
// Defaults: alg ES256, iss = STATE_DIR/mini.url, aud ci-audience,
// sub repo:org/app:ref:refs/heads/main, iat now, exp now+300, random jti.
// --claims / --header are merged over the defaults; a null value deletes a key.
// --kid sets the header kid only (the signing key is still chosen by --alg).
// --unpublished signs with a freshly generated key whose kid is not in the JWKS.
// HS256 (alg-confusion tests) uses the PEM of the published RS256 public key
// as HMAC secret (header kid = that key's kid); none has an empty signature.

import crypto from 'node:crypto';
import { parseArgs } from 'node:util';
import {
  die, glueValues, ensureMiniKeys, generateJwk, readUrl, signJws,
} from './lib.mjs';

let args;
try {
  const options = {
    state: { type: 'string' },
    alg: { type: 'string', default: 'ES256' },
    kid: { type: 'string' },
    'no-kid': { type: 'boolean', default: false },
    unpublished: { type: 'boolean', default: false },
    iss: { type: 'string' },
    aud: { type: 'string' },
    sub: { type: 'string' },
    'exp-in': { type: 'string' },
    'iat-offset': { type: 'string' },
    claims: { type: 'string' },
    header: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  };
  ({ values: args } = parseArgs({ options, args: glueValues(process.argv.slice(2), options) }));
} catch (err) {
  die(err.message, 2);
}
if (args.help || !args.state) {
  die('usage: mint.mjs --state STATE_DIR [--alg RS256|ES256|EdDSA|HS256|none] [--kid KID] [--no-kid] '
    + '[--unpublished] [--iss URL] [--aud AUD] [--sub SUB] [--exp-in SECONDS] [--iat-offset SECONDS] '
    + '[--claims JSON] [--header JSON]', 2);
}

const ALGS = ['RS256', 'ES256', 'EdDSA', 'HS256', 'none'];
if (!ALGS.includes(args.alg)) die(`--alg must be one of ${ALGS.join(', ')}`, 2);

function int(name, def) {
  if (args[name] === undefined) return def;
  const n = Number(args[name]);
  if (!Number.isInteger(n)) die(`--${name} must be an integer`, 2);
  return n;
}

function json(name) {
  if (args[name] === undefined) return {};
  let v;
  try { v = JSON.parse(args[name]); } catch (err) { die(`--${name}: invalid JSON: ${err.message}`, 2); }
  if (!v || typeof v !== 'object' || Array.isArray(v)) die(`--${name} must be a JSON object`, 2);
  return v;
}

function merge(base, over) {
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}

const keys = ensureMiniKeys(args.state);
let signingKey;
let signingJwk;
if (args.alg === 'none') {
  signingJwk = null;
} else if (args.alg === 'HS256') {
  const rsa = keys.find((k) => k.alg === 'RS256');
  signingJwk = rsa;
  signingKey = crypto.createPublicKey({ key: rsa, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
} else {
  signingJwk = args.unpublished ? generateJwk(args.alg, 'unpublished') : keys.find((k) => k.alg === args.alg);
  if (!signingJwk) die(`no ${args.alg} key in mini-keys`);
  signingKey = crypto.createPrivateKey({ key: signingJwk, format: 'jwk' });
}

const now = Math.floor(Date.now() / 1000);
const iat = now + int('iat-offset', 0);
const payload = merge({
  iss: args.iss ?? readUrl(args.state, 'mini'),
  sub: args.sub ?? 'repo:org/app:ref:refs/heads/main',
  aud: args.aud ?? 'ci-audience',
  iat,
  exp: now + int('exp-in', 300),
  jti: crypto.randomUUID(),
}, json('claims'));

let header = { alg: args.alg, typ: 'JWT' };
if (args.kid !== undefined) header.kid = args.kid;
else if (signingJwk) header.kid = signingJwk.kid;
if (args['no-kid']) delete header.kid;
header = merge(header, json('header'));

process.stdout.write(`${signJws(header, payload, args.alg, signingKey)}\n`);
