// Scripted "browser" that approves (or denies) a device authorization at the
// test OP, using plain HTTPS requests with a cookie jar.
//
// node approve.mjs --state STATE_DIR (--user-code CODE | --uri VERIFICATION_URI_COMPLETE)
//                  --user LOGIN --password PASSWORD [--deny] [--deny-at consent|device] [--verbose]
//
// --deny logs in and then denies consent (default --deny-at consent);
// --deny-at device aborts on the device confirmation page before logging in.
// Either way the token endpoint then answers access_denied.
//
// Exit codes: 0 done (approved, or denied as asked), 1 unexpected error,
// 2 usage, 3 login failed (unknown user / wrong password),
// 4 user code rejected (unknown, expired or already used).

import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  CookieJar, glueValues, httpsRequest, readUrl,
} from './lib.mjs';

const USAGE = 'usage: approve.mjs --state STATE_DIR (--user-code CODE | --uri VERIFICATION_URI_COMPLETE) '
  + '--user LOGIN --password PASSWORD [--deny] [--deny-at consent|device] [--verbose]';

function fail(code, msg) {
  process.stderr.write(`approve.mjs: ${msg}\n`);
  process.exit(code);
}

let args;
try {
  const options = {
    state: { type: 'string' },
    'user-code': { type: 'string' },
    uri: { type: 'string' },
    user: { type: 'string' },
    password: { type: 'string' },
    deny: { type: 'boolean', default: false },
    'deny-at': { type: 'string' },
    verbose: { type: 'boolean', short: 'v', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  };
  ({ values: args } = parseArgs({ options, args: glueValues(process.argv.slice(2), options) }));
} catch (err) {
  fail(2, `${err.message}\n${USAGE}`);
}
if (args.help) fail(2, USAGE);
if (!args.state) fail(2, `--state is required\n${USAGE}`);
if (!args['user-code'] && !args.uri) fail(2, `--user-code or --uri is required\n${USAGE}`);
if (args['deny-at'] && !['consent', 'device'].includes(args['deny-at'])) fail(2, '--deny-at must be consent or device');
const deny = args.deny || Boolean(args['deny-at']);
const denyAt = args['deny-at'] || 'consent';
if ((!args.user || args.password === undefined) && !(deny && denyAt === 'device')) {
  fail(2, `--user and --password are required\n${USAGE}`);
}

const caFile = path.join(args.state, 'ca.pem');
if (!fs.existsSync(caFile)) fail(1, `${caFile} not found: is the IdP started?`);
const ca = fs.readFileSync(caFile);
const jar = new CookieJar();
const log = (msg) => { if (args.verbose) process.stderr.write(`approve.mjs: ${msg}\n`); };

// ---------------------------------------------------------------- HTML forms

const decode = (s) => s.replace(/&(amp|lt|gt|quot|#39|#x27);/g, (m, e) => ({
  amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'",
}[e]));

function attrs(src) {
  const out = {};
  const re = /([^\s=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g;
  let m;
  while ((m = re.exec(src))) out[m[1].toLowerCase()] = decode(m[2] ?? m[3] ?? m[4] ?? '');
  return out;
}

function parseForms(html) {
  const forms = [];
  const re = /<form\b([^>]*)>([\s\S]*?)<\/form>/gi;
  let m;
  while ((m = re.exec(html))) {
    const a = attrs(m[1]);
    const fields = {};
    const inRe = /<input\b([^>]*)>/gi;
    let i;
    while ((i = inRe.exec(m[2]))) {
      const ia = attrs(i[1]);
      if (ia.name && !['submit', 'button', 'image'].includes((ia.type || '').toLowerCase())) {
        fields[ia.name] = ia.value ?? '';
      }
    }
    forms.push({
      id: a.id, action: a.action, method: (a.method || 'get').toUpperCase(), fields,
    });
  }
  return forms;
}

function pageKind(html) {
  const m = /<meta\s+name="idp-page"\s+content="([^"]+)"/i.exec(html);
  if (m) return m[1];
  if (/<title>Submitting Callback<\/title>/i.test(html)) return 'autosubmit';
  return 'unknown';
}

function pageError(html) {
  const m = /id="error"[^>]*>([\s\S]*?)</i.exec(html);
  const code = /data-error="([^"]*)"/i.exec(html);
  return m ? { code: code ? code[1] : 'error', text: decode(m[1]).trim() } : null;
}

// ---------------------------------------------------------------- flow

async function go(method, url, fields) {
  let body;
  const headers = { 'user-agent': 'nss-pam-oidc-test-approver/1', accept: 'text/html' };
  if (method === 'POST') {
    body = new URLSearchParams(fields || {}).toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  let current = url;
  for (let hops = 0; ; hops += 1) {
    log(`${method} ${current}${body ? ` ${body.replace(/password=[^&]*/, 'password=***')}` : ''}`);
    let res;
    try {
      res = await httpsRequest(current, {
        method, headers, body, ca, jar,
      });
    } catch (err) {
      fail(1, `request to ${current} failed: ${err.message}`);
    }
    log(`  -> ${res.status}${res.headers.location ? ` ${res.headers.location}` : ''}`);
    if (res.status >= 300 && res.status < 400 && res.headers.location) {
      if (hops > 10) fail(1, 'too many redirects');
      current = new URL(res.headers.location, current).href;
      method = 'GET';
      body = undefined;
      delete headers['content-type'];
      continue;
    }
    return { ...res, url: current };
  }
}

function submit(page, form, overrides = {}, remove = []) {
  if (!form) fail(1, `expected form not found on ${page.kind} page at ${page.url}`);
  const fields = { ...form.fields, ...overrides };
  for (const k of remove) delete fields[k];
  const action = new URL(form.action || page.url, page.url).href;
  return go(form.method === 'GET' ? 'GET' : 'POST', action, fields);
}

const opUrl = readUrl(args.state, 'op');
let res = await go('GET', args.uri || `${opUrl}/device`);
let codeSubmitted = false;
let denied = false;

for (let step = 0; step < 20; step += 1) {
  const kind = pageKind(res.body);
  const forms = parseForms(res.body);
  const page = { kind, url: res.url };
  const byId = (id) => forms.find((f) => f.id === id);
  const err = pageError(res.body);
  log(`  page: ${kind}${err ? ` (error ${err.code}: ${err.text})` : ''}`);

  switch (kind) {
    case 'autosubmit':
      codeSubmitted = codeSubmitted || 'user_code' in (forms[0]?.fields || {});
      res = await submit(page, forms[0]);
      break;
    case 'device-input':
      if (err && err.code === 'aborted' && denied) {
        process.stdout.write('denied\n');
        process.exit(0);
      }
      if (err && (err.code === 'invalid_user_code' || codeSubmitted)) {
        fail(4, `user code rejected: ${err.text}`);
      }
      if (err) fail(1, `device page error: ${err.code}: ${err.text}`);
      if (!args['user-code']) fail(4, 'verification page asks for a user code (the one in --uri was not accepted)');
      codeSubmitted = true;
      res = await submit(page, byId('op.deviceInputForm'), { user_code: args['user-code'] });
      break;
    case 'device-confirm':
      if (deny && denyAt === 'device') {
        denied = true;
        res = await submit(page, byId('op.deviceConfirmForm'), { abort: 'yes' }, ['confirm']);
      } else {
        res = await submit(page, byId('op.deviceConfirmForm'));
      }
      break;
    case 'login':
      if (err) fail(3, `login failed for '${args.user}': ${err.text}`);
      res = await submit(page, byId('login-form'), { login: args.user, password: args.password });
      break;
    case 'consent':
      if (deny) {
        denied = true;
        res = await submit(page, byId('abort-form'));
      } else {
        res = await submit(page, byId('consent-form'));
      }
      break;
    case 'device-success':
      if (deny) fail(1, 'expected a denial but the OP reports success');
      process.stdout.write('approved\n');
      process.exit(0);
      break;
    case 'error':
      fail(1, `OP error page (HTTP ${res.status}) at ${res.url}: ${err ? err.text : res.body.slice(0, 300)}`);
      break;
    default:
      fail(1, `unexpected response (HTTP ${res.status}) at ${res.url}: ${res.body.slice(0, 300)}`);
  }
}
fail(1, 'too many steps without reaching a result');
