// Shared helpers for the nss-pam-oidc test identity providers.
// Only node built-ins are used here so that mint.mjs / approve.mjs work even
// without node_modules.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import https from 'node:https';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const HERE = path.dirname(fileURLToPath(import.meta.url));

export function die(msg, code = 1) {
  process.stderr.write(`${path.basename(process.argv[1] || 'idp')}: ${msg}\n`);
  process.exit(code);
}

// ---------------------------------------------------------------- modules

// Directory that node_modules lookups start from. IDP_NODE_MODULES may name
// either a directory that contains node_modules/ or a node_modules directory.
export function nodeModulesDir() {
  const alt = process.env.IDP_NODE_MODULES;
  if (alt) {
    if (fs.existsSync(path.join(alt, 'node_modules'))) return path.join(alt, 'node_modules');
    return alt;
  }
  return path.join(HERE, 'node_modules');
}

export async function loadModule(name) {
  const nm = nodeModulesDir();
  let resolved;
  try {
    const req = createRequire(path.join(nm, '..', '__idp_resolve__.js'));
    resolved = req.resolve(name, { paths: [nm, path.dirname(nm)] });
  } catch (err) {
    die(`cannot find module '${name}' in ${nm}: run 'npm ci' in ${HERE}`
      + ' (or point IDP_NODE_MODULES at a directory holding node_modules)');
  }
  return import(pathToFileURL(resolved).href);
}

// node:util parseArgs refuses "--opt -5"; glue value-taking options to their
// next argument ("--opt=-5") so negative numbers work without '='.
export function glueValues(argv, options) {
  const out = [];
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    const name = a.startsWith('--') && !a.includes('=') ? a.slice(2) : null;
    if (name && options[name] && options[name].type === 'string' && i + 1 < argv.length) {
      out.push(`${a}=${argv[i + 1]}`);
      i += 1;
    } else {
      out.push(a);
    }
  }
  return out;
}

// ---------------------------------------------------------------- encoding

export const b64u = (buf) => Buffer.from(buf).toString('base64url');
export const b64uJson = (obj) => b64u(JSON.stringify(obj));

export function decodeJwt(token) {
  const [h, p] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString('utf8')),
    payload: JSON.parse(Buffer.from(p, 'base64url').toString('utf8')),
  };
}

// ---------------------------------------------------------------- files

export function readText(file) {
  return fs.readFileSync(file, 'utf8');
}

export function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

// Atomic write (rename) so a concurrently starting server never reads a
// half-written key file.
export function writeFileAtomic(file, data, mode = 0o644) {
  const tmp = `${file}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  fs.writeFileSync(tmp, data, { mode });
  fs.renameSync(tmp, file);
}

export function readUrl(stateDir, name) {
  const file = path.join(stateDir, `${name}.url`);
  if (!fs.existsSync(file)) die(`${file} not found: is the IdP started (idp-ctl.sh start ${stateDir})?`);
  return readText(file).trim();
}

// Exit when the state directory is deleted or our pid file names another
// process, so servers orphaned by a test that removed STATE_DIR without
// 'idp-ctl.sh stop' do not linger.
export function watchStateDir(stateDir, name) {
  const pidFile = path.join(stateDir, `${name}.pid`);
  setInterval(() => {
    let reason;
    if (!fs.existsSync(stateDir)) {
      reason = 'state dir removed';
    } else {
      let pid = '';
      try { pid = fs.readFileSync(pidFile, 'utf8').trim(); } catch { /* missing */ }
      if (/^[0-9]+$/.test(pid) && Number(pid) !== process.pid) reason = `${name}.pid names pid ${pid}`;
    }
    if (reason) {
      console.log(`${new Date().toISOString()} exiting: ${reason}`);
      process.exit(0);
    }
  }, 2000).unref();
}

// ---------------------------------------------------------------- keys

function newKid(prefix) {
  const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `${prefix}-${stamp}-${crypto.randomBytes(4).toString('hex')}`;
}

// Returns a private JWK (with kid, alg, use) for one of RS256, ES256, EdDSA.
export function generateJwk(alg, kidPrefix) {
  let pair;
  switch (alg) {
    case 'RS256':
      pair = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
      break;
    case 'ES256':
      pair = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
      break;
    case 'EdDSA':
      pair = crypto.generateKeyPairSync('ed25519');
      break;
    default:
      throw new Error(`unsupported key alg ${alg}`);
  }
  const jwk = pair.privateKey.export({ format: 'jwk' });
  return {
    kid: newKid(`${kidPrefix}-${alg.toLowerCase()}`), use: 'sig', alg, ...jwk,
  };
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

export function publicJwk(jwk) {
  const out = { ...jwk };
  for (const m of PRIVATE_MEMBERS) delete out[m];
  return out;
}

export const opKeysFile = (stateDir) => path.join(stateDir, 'op-keys.json');
export const miniKeysFile = (stateDir) => path.join(stateDir, 'mini-keys', 'jwks.json');

// OP signing keys: first RS256 key signs RS256 ID tokens; all are published.
export function ensureOpKeys(stateDir) {
  const file = opKeysFile(stateDir);
  if (!fs.existsSync(file)) {
    const keys = [generateJwk('RS256', 'op'), generateJwk('ES256', 'op')];
    writeFileAtomic(file, `${JSON.stringify({ keys }, null, 2)}\n`, 0o600);
  }
  return readJson(file).keys;
}

export function rotateOpKeys(stateDir) {
  const keys = ensureOpKeys(stateDir);
  const fresh = generateJwk('RS256', 'op');
  keys.unshift(fresh);
  writeFileAtomic(opKeysFile(stateDir), `${JSON.stringify({ keys }, null, 2)}\n`, 0o600);
  return fresh.kid;
}

// Keep only the newest key of each algorithm (the first one in the list), so
// tokens signed by older keys carry a kid that is no longer published.
export function retireOpKeys(stateDir) {
  const keys = ensureOpKeys(stateDir);
  const seen = new Set();
  const kept = keys.filter((k) => {
    if (seen.has(k.alg)) return false;
    seen.add(k.alg);
    return true;
  });
  writeFileAtomic(opKeysFile(stateDir), `${JSON.stringify({ keys: kept }, null, 2)}\n`, 0o600);
  return { kept: kept.map((k) => k.kid), dropped: keys.filter((k) => !kept.includes(k)).map((k) => k.kid) };
}

export function ensureMiniKeys(stateDir) {
  const file = miniKeysFile(stateDir);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const keys = [generateJwk('RS256', 'mini'), generateJwk('ES256', 'mini'), generateJwk('EdDSA', 'mini')];
    writeFileAtomic(file, `${JSON.stringify({ keys }, null, 2)}\n`, 0o600);
  }
  return readJson(file).keys;
}

// ---------------------------------------------------------------- JWS

export function signJws(header, payload, alg, keyObjectOrSecret) {
  const input = `${b64uJson(header)}.${b64uJson(payload)}`;
  const data = Buffer.from(input, 'ascii');
  let sig;
  switch (alg) {
    case 'RS256':
      sig = crypto.sign('sha256', data, keyObjectOrSecret);
      break;
    case 'ES256':
      sig = crypto.sign('sha256', data, { key: keyObjectOrSecret, dsaEncoding: 'ieee-p1363' });
      break;
    case 'EdDSA':
      sig = crypto.sign(null, data, keyObjectOrSecret);
      break;
    case 'HS256':
      sig = crypto.createHmac('sha256', keyObjectOrSecret).update(data).digest();
      break;
    case 'none':
      sig = Buffer.alloc(0);
      break;
    default:
      throw new Error(`unsupported alg ${alg}`);
  }
  return `${input}.${b64u(sig)}`;
}

// ---------------------------------------------------------------- HTTPS client

// Minimal HTTPS client trusting a given CA, with an optional cookie jar.
export class CookieJar {
  constructor() { this.cookies = new Map(); } // key: name|path -> {name,value,path}

  store(setCookieHeaders, requestUrl) {
    for (const line of setCookieHeaders || []) {
      const parts = line.split(';').map((s) => s.trim());
      const eq = parts[0].indexOf('=');
      if (eq <= 0) continue;
      const name = parts[0].slice(0, eq);
      const value = parts[0].slice(eq + 1);
      let cpath = '/';
      let expired = false;
      for (const attr of parts.slice(1)) {
        const [k, ...rest] = attr.split('=');
        const v = rest.join('=');
        const key = k.toLowerCase();
        if (key === 'path' && v) cpath = v;
        if (key === 'expires' && Date.parse(v) <= Date.now()) expired = true;
        if (key === 'max-age' && Number(v) <= 0) expired = true;
      }
      if (!parts.slice(1).some((a) => a.toLowerCase().startsWith('path='))) {
        const p = new URL(requestUrl).pathname;
        cpath = p.slice(0, p.lastIndexOf('/')) || '/';
      }
      const id = `${name}|${cpath}`;
      if (expired || value === '') this.cookies.delete(id);
      else this.cookies.set(id, { name, value, path: cpath });
    }
  }

  header(url) {
    const p = new URL(url).pathname;
    const list = [...this.cookies.values()]
      .filter((c) => p === c.path || p.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
      .sort((a, b) => b.path.length - a.path.length)
      .map((c) => `${c.name}=${c.value}`);
    return list.length ? list.join('; ') : undefined;
  }
}

export function httpsRequest(url, {
  method = 'GET', headers = {}, body, ca, jar, timeoutMs = 10000,
} = {}) {
  return new Promise((resolve, reject) => {
    const h = { ...headers };
    if (jar) {
      const c = jar.header(url);
      if (c) h.cookie = c;
    }
    if (body !== undefined) h['content-length'] = Buffer.byteLength(body);
    const req = https.request(url, {
      method, headers: h, ca, timeout: timeoutMs,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        if (jar) jar.store(res.headers['set-cookie'], url);
        resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout requesting ${url}`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}
