// Test OpenID Provider for nss-pam-oidc (oidc-provider 8.x, device flow).
// Started by idp-ctl.sh:  node provider.mjs --state STATE_DIR [--port N | --prefer-port N]
//   --port N must bind N (retrying a few seconds), --port 0 (default) picks a
//   free port, --prefer-port N tries N once and falls back to a free port.
//   op.url is (re)written once listening.
// Knobs (env): IDP_DEVICE_INTERVAL, IDP_DEVICE_TTL, IDP_ID_TOKEN_TTL, IDP_SLOW_DOWN.

import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  die, loadModule, ensureOpKeys, watchStateDir, writeFileAtomic,
} from './lib.mjs';

const { values: args } = parseArgs({
  options: {
    state: { type: 'string' },
    port: { type: 'string', default: '0' },
    'prefer-port': { type: 'string' },
  },
});
if (!args.state) die('usage: provider.mjs --state STATE_DIR [--port N | --prefer-port N]');
const stateDir = path.resolve(args.state);

function knob(name, def, min) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) die(`${name} must be an integer >= ${min}, got '${raw}'`);
  return n;
}
const DEVICE_INTERVAL = knob('IDP_DEVICE_INTERVAL', 1, 0);
const DEVICE_TTL = knob('IDP_DEVICE_TTL', 600, 1);
const ID_TOKEN_TTL = knob('IDP_ID_TOKEN_TTL', 3600, 1);
// 1: answer slow_down to device_code polls that come sooner than the current
// interval (which then grows by 5 s for that device code, as in RFC 8628).
const SLOW_DOWN = knob('IDP_SLOW_DOWN', 0, 0) === 1;

// ---------------------------------------------------------------- users

const USERS = [
  {
    login: 'alice', password: 'alice-pw', sub: 'sub-alice',
    claims: {
      preferred_username: 'alice', email: 'alice@example.test', name: 'Alice Admin', groups: ['admins', 'devs'], uid_number: 5001,
    },
  },
  {
    login: 'bob', password: 'bob-pw', sub: 'sub-bob',
    claims: {
      preferred_username: 'bob', email: 'bob@example.test', name: 'Bob Builder', groups: ['devs'], uid_number: 5002,
    },
  },
  {
    login: 'carol', password: 'carol-pw', sub: 'sub-carol',
    claims: {
      preferred_username: 'carol', email: 'carol@example.test', name: 'Carol', groups: [], uid_number: 5003,
    },
  },
  {
    login: 'Dave.Mixed', password: 'dave-pw', sub: 'sub-dave',
    claims: {
      preferred_username: 'Dave.Mixed@Example.Test', email: 'dave@Example.Test', name: 'Dave Mixed', groups: ['Devs'], uid_number: 5004,
    },
  },
  {
    login: 'rooty', password: 'rooty-pw', sub: 'sub-rooty',
    claims: {
      preferred_username: 'root', email: 'root@example.test', name: 'Rooty', groups: [], uid_number: 5005,
    },
  },
];
const BY_SUB = new Map(USERS.map((u) => [u.sub, u]));
const BY_LOGIN = new Map(USERS.map((u) => [u.login, u]));

// ---------------------------------------------------------------- TLS + listen

const key = fs.readFileSync(path.join(stateDir, 'server.key'));
const cert = fs.readFileSync(path.join(stateDir, 'server.pem'));
let handler = (req, res) => { res.statusCode = 503; res.end('starting\n'); };
const server = https.createServer({ key, cert }, (req, res) => handler(req, res));

async function listen(port, retry = true) {
  // On a restart (rotate/retire) the previous process may release the port a
  // moment late: retry EADDRINUSE for a few seconds when a port is required.
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
  try {
    await listen(Number(args['prefer-port']), false);
  } catch {
    await listen(0);
  }
} else {
  await listen(Number(args.port));
}
const ISSUER = `https://127.0.0.1:${server.address().port}`;

// ---------------------------------------------------------------- pages

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
}[c]));

function page(title, marker, body) {
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>${esc(title)}</title>
<meta name="idp-page" content="${marker}"></head>
<body><h1>${esc(title)}</h1>
${body}
</body></html>
`;
}

async function userCodeInputSource(ctx, form, out, err) {
  let msg = '<p>Enter the code displayed on your device</p>';
  if (err && (err.userCode || err.name === 'NoCodeError')) {
    msg = '<p class="error" id="error" data-error="invalid_user_code">The code you entered is incorrect. Try again</p>';
  } else if (err && err.name === 'AbortedError') {
    msg = '<p class="error" id="error" data-error="aborted">The Sign-in request was interrupted</p>';
  } else if (err) {
    msg = `<p class="error" id="error" data-error="${esc(err.name || 'error')}">There was an error processing your request</p>`;
  }
  ctx.body = page('Device sign-in', 'device-input', `${msg}
${form}
<button type="submit" form="op.deviceInputForm">Continue</button>`);
}

async function userCodeConfirmSource(ctx, form, client, deviceInfo, userCode) {
  ctx.body = page('Confirm device', 'device-confirm', `<p>Client <strong>${esc(client.clientName || client.clientId)}</strong>
asks for access. The code shown on your device should be <code>${esc(userCode)}</code>.</p>
${form}
<button type="submit" form="op.deviceConfirmForm">Continue</button>
<button type="submit" form="op.deviceConfirmForm" value="yes" name="abort">Abort</button>`);
}

async function successSource(ctx) {
  ctx.body = page('Sign-in success', 'device-success', '<p id="success">Your sign-in was successful, you can now close this page.</p>');
}

function loginPage(uid, clientId, error) {
  return page('Sign in', 'login', `${error ? `<p class="error" id="error" data-error="login_failed">${esc(error)}</p>` : ''}
<p>Sign in to continue to <strong>${esc(clientId)}</strong></p>
<form id="login-form" method="post" action="/interaction/${esc(uid)}/login">
  <input type="text" name="login" placeholder="username" autofocus>
  <input type="password" name="password" placeholder="password">
  <button type="submit">Sign in</button>
</form>
<form id="abort-form" method="post" action="/interaction/${esc(uid)}/abort">
  <button type="submit">Cancel</button>
</form>`);
}

function consentPage(uid, clientId, details, accountId) {
  const scopes = details.missingOIDCScope || [];
  const claims = details.missingOIDCClaims || [];
  return page('Authorize', 'consent', `<p>Signed in as <strong>${esc(accountId)}</strong>.
<strong>${esc(clientId)}</strong> asks for: ${esc(scopes.join(' '))} ${claims.length ? `(claims: ${esc(claims.join(' '))})` : ''}</p>
<form id="consent-form" method="post" action="/interaction/${esc(uid)}/confirm">
  <button type="submit">Allow</button>
</form>
<form id="abort-form" method="post" action="/interaction/${esc(uid)}/abort">
  <button type="submit">Deny</button>
</form>`);
}

// ---------------------------------------------------------------- provider

const GROUPS_ONLY_USERINFO = new Set(['oidc-groups-userinfo', 'oidc-groups-overage', 'oidc-groups-othersub']);

const { default: Provider } = await loadModule('oidc-provider');

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const deviceClient = (extra) => ({
  grant_types: [DEVICE_GRANT, 'refresh_token'],
  response_types: [],
  redirect_uris: [],
  ...extra,
});

const configuration = {
  clients: [
    deviceClient({
      client_id: 'oidc-public',
      token_endpoint_auth_method: 'none',
      id_token_signed_response_alg: 'RS256',
    }),
    deviceClient({
      client_id: 'oidc-confidential',
      client_secret: 'confidential-secret',
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
    }),
    deviceClient({
      client_id: 'oidc-confidential-post',
      client_secret: 'confidential-secret',
      token_endpoint_auth_method: 'client_secret_post',
      id_token_signed_response_alg: 'RS256',
    }),
    // Groups only through userinfo (GROUPS_ONLY_USERINFO below): the ID token has no groups
    // claim; -overage adds Entra ID's overage marker to the ID token; -othersub answers userinfo
    // for another subject than the ID token's.
    ...['oidc-groups-userinfo', 'oidc-groups-overage', 'oidc-groups-othersub'].map((id) => deviceClient({
      client_id: id,
      token_endpoint_auth_method: 'none',
      id_token_signed_response_alg: 'RS256',
    })),
  ],
  jwks: { keys: ensureOpKeys(stateDir) },
  async findAccount(ctx, sub) {
    const user = BY_SUB.get(sub);
    if (!user) return undefined;
    const clientId = ctx && ctx.oidc && ctx.oidc.client ? ctx.oidc.client.clientId : undefined;
    return {
      accountId: sub,
      // oidc-provider filters these by the granted scopes/claims.
      async claims(use) {
        const all = { sub, email_verified: true, ...user.claims };
        if (!GROUPS_ONLY_USERINFO.has(clientId)) return all;
        if (use === 'userinfo') {
          return clientId === 'oidc-groups-othersub' ? { ...all, sub: `${sub}-impostor` } : all;
        }
        const { groups, ...rest } = all;
        if (clientId !== 'oidc-groups-overage') return rest;
        // Entra ID's groups overage: a distributed claim instead of the list
        return {
          ...rest,
          _claim_names: { groups: 'src1' },
          _claim_sources: { src1: { endpoint: `${ISSUER}/groups-not-served/${sub}` } },
        };
      },
    };
  },
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username', 'uid_number'],
    email: ['email', 'email_verified'],
    groups: ['groups'],
  },
  scopes: ['openid', 'offline_access', 'profile', 'email', 'groups'],
  // Put scope-released claims into the ID token itself, not only userinfo.
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: false },
    deviceFlow: {
      enabled: true,
      userCodeInputSource,
      userCodeConfirmSource,
      successSource,
    },
    userinfo: { enabled: true },
    revocation: { enabled: false },
    introspection: { enabled: false },
  },
  interactions: {
    async url(ctx, interaction) {
      return `/interaction/${interaction.uid}`;
    },
  },
  cookies: {
    keys: [crypto.randomBytes(32).toString('hex')],
    long: { signed: true },
    short: { signed: true },
  },
  ttl: {
    DeviceCode: DEVICE_TTL,
    IdToken: ID_TOKEN_TTL,
    AccessToken: 3600,
    RefreshToken: 86400,
    Interaction: 600,
    Session: 3600,
    Grant: 86400,
  },
  async renderError(ctx, out, error) {
    ctx.type = 'html';
    ctx.body = page('Error', 'error', `<p class="error" id="error" data-error="${esc(out.error)}">${esc(out.error)}: ${esc(out.error_description || '')}</p>`);
  },
};

const provider = new Provider(ISSUER, configuration);
provider.proxy = false;

// RFC 8628 says `interval` is optional (default 5 s); oidc-provider 8 does not
// send it, so add it to every successful device authorization response.
provider.use(async (ctx, next) => {
  await next();
  if (ctx.oidc && ctx.oidc.route === 'device_authorization' && ctx.status === 200
      && ctx.body && typeof ctx.body === 'object') {
    ctx.body.interval = DEVICE_INTERVAL;
  }
});

for (const ev of ['server_error', 'grant.error', 'device_authorization.error', 'userinfo.error', 'code_verification.error']) {
  provider.on(ev, (ctx, err) => {
    const detail = ev === 'server_error' ? (err && err.stack) : `${err && (err.error || err.message)}${err && err.error_detail ? ` (${err.error_detail})` : ''}`;
    console.log(`${new Date().toISOString()} ${ev}: ${detail}`);
  });
}

// ---------------------------------------------------------------- interactions

function readForm(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > 65536) { reject(new Error('body too large')); req.destroy(); return; }
      chunks.push(c);
    });
    req.on('end', () => resolve(Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')))));
    req.on('error', reject);
  });
}

function sendHtml(res, status, html) {
  res.statusCode = status;
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.end(html);
}

async function interactionRoute(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction uid mismatch');
  const { prompt, params, session } = details;
  const clientId = params.client_id;

  if (req.method === 'GET' && !action) {
    if (prompt.name === 'login') return sendHtml(res, 200, loginPage(uid, clientId));
    if (prompt.name === 'consent') return sendHtml(res, 200, consentPage(uid, clientId, prompt.details, session.accountId));
    return sendHtml(res, 501, page('Error', 'error', `<p id="error">unsupported prompt ${esc(prompt.name)}</p>`));
  }
  if (req.method !== 'POST') return sendHtml(res, 405, page('Error', 'error', '<p id="error">method not allowed</p>'));

  if (action === 'abort') {
    await readForm(req);
    return provider.interactionFinished(req, res, {
      error: 'access_denied', error_description: 'End-User denied the request',
    }, { mergeWithLastSubmission: false });
  }

  if (action === 'login') {
    if (prompt.name !== 'login') throw new Error(`expected login prompt, got ${prompt.name}`);
    const form = await readForm(req);
    const user = BY_LOGIN.get(form.login || '');
    if (!user || !form.password || form.password !== user.password) {
      console.log(`${new Date().toISOString()} login failed for '${form.login}'`);
      return sendHtml(res, 200, loginPage(uid, clientId, 'Invalid username or password'));
    }
    return provider.interactionFinished(req, res, {
      login: { accountId: user.sub },
    }, { mergeWithLastSubmission: false });
  }

  if (action === 'confirm') {
    if (prompt.name !== 'consent') throw new Error(`expected consent prompt, got ${prompt.name}`);
    await readForm(req);
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId });
    const d = prompt.details;
    if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
    if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
    if (d.missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(d.missingResourceScopes)) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
    }
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }

  return sendHtml(res, 404, page('Error', 'error', '<p id="error">not found</p>'));
}

// oidc-provider treats client_secret_basic and client_secret_post as
// interchangeable. Tests want to catch a client using the wrong method, so
// enforce the registered method on the endpoints that authenticate clients.
const STRICT_AUTH_PATHS = new Set(['/token', '/device/auth']);
const CLIENT_AUTH_METHOD = new Map(configuration.clients.map((c) => [c.client_id, c.token_endpoint_auth_method]));

function rejectClient(res, description) {
  res.statusCode = 401;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.end(JSON.stringify({ error: 'invalid_client', error_description: description }));
}

async function strictClientAuth(req, res, pathname) {
  let body;
  try {
    body = await new Promise((resolve, reject) => {
      const chunks = [];
      let size = 0;
      req.on('data', (c) => {
        size += c.length;
        if (size > 56 * 1024) reject(new Error('request body too large'));
        else chunks.push(c);
      });
      req.on('end', () => resolve(Buffer.concat(chunks)));
      req.on('error', reject);
    });
  } catch (err) {
    res.statusCode = 400;
    res.end(JSON.stringify({ error: 'invalid_request', error_description: err.message }));
    return false;
  }
  // oidc-provider uses an already-read body when req.body is set.
  req.body = body;
  const form = new URLSearchParams(body.toString('utf8'));
  const authz = req.headers.authorization || '';
  let clientId = form.get('client_id');
  const basic = /^basic\s+(\S+)$/i.exec(authz);
  if (basic) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    try { clientId = decodeURIComponent(decoded.slice(0, decoded.indexOf(':')).replace(/\+/g, '%20')); } catch { /* let oidc-provider reject it */ }
  }
  const method = CLIENT_AUTH_METHOD.get(clientId);
  if (method === 'client_secret_basic' && !basic && form.has('client_secret')) {
    console.log(`${new Date().toISOString()} rejected ${clientId}: client_secret_post used, client is registered for client_secret_basic`);
    rejectClient(res, 'client is registered for client_secret_basic; client_secret in the request body is not accepted');
    return false;
  }
  if (method === 'client_secret_post' && basic) {
    console.log(`${new Date().toISOString()} rejected ${clientId}: client_secret_basic used, client is registered for client_secret_post`);
    rejectClient(res, 'client is registered for client_secret_post; HTTP Basic authentication is not accepted');
    return false;
  }
  if (SLOW_DOWN && pathname === '/token' && form.get('grant_type') === DEVICE_GRANT && form.get('device_code')) {
    return pollRate(res, form.get('device_code'));
  }
  return true;
}

const polls = new Map(); // device_code -> { last, interval }
function pollRate(res, deviceCode) {
  const now = Date.now();
  const p = polls.get(deviceCode) || { last: 0, interval: DEVICE_INTERVAL };
  polls.set(deviceCode, p);
  if (polls.size > 10000) polls.delete(polls.keys().next().value);
  const early = p.last && now - p.last < p.interval * 1000 - 50;
  p.last = now;
  if (!early) return true;
  p.interval += 5;
  console.log(`${new Date().toISOString()} slow_down: device code polled early, interval now ${p.interval}s`);
  res.statusCode = 400;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.end(JSON.stringify({ error: 'slow_down', error_description: `polling too fast; wait at least ${p.interval} seconds between requests` }));
  return false;
}

const oidcCallback = provider.callback();
const INTERACTION = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|confirm|abort))?\/?$/;

handler = async (req, res) => {
  const { pathname } = new URL(req.url, ISSUER);
  const m = INTERACTION.exec(pathname);
  if (!m) {
    if (req.method === 'POST' && STRICT_AUTH_PATHS.has(pathname) && !(await strictClientAuth(req, res, pathname))) return undefined;
    return oidcCallback(req, res);
  }
  try {
    return await interactionRoute(req, res, m[1], m[2]);
  } catch (err) {
    console.log(`${new Date().toISOString()} interaction error: ${err.stack || err}`);
    if (!res.headersSent) {
      sendHtml(res, 400, page('Error', 'error', `<p class="error" id="error" data-error="interaction_error">${esc(err.message)}</p>`));
    }
    return undefined;
  }
};

writeFileAtomic(path.join(stateDir, 'op.url'), `${ISSUER}\n`);
const kids = configuration.jwks.keys.map((k) => `${k.kid}(${k.alg})`).join(' ');
console.log(`${new Date().toISOString()} OP listening: issuer ${ISSUER} pid ${process.pid} interval=${DEVICE_INTERVAL} device_ttl=${DEVICE_TTL} id_token_ttl=${ID_TOKEN_TTL} slow_down=${SLOW_DOWN ? 1 : 0} keys: ${kids}`);

const shutdown = () => { server.close(); server.closeAllConnections(); process.exit(0); };
watchStateDir(stateDir, 'op');
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
