// Key management for the test OP (used by idp-ctl.sh).
//   node keys.mjs init   STATE_DIR   create OP and mini issuer keys if missing
//   node keys.mjs rotate STATE_DIR   prepend a new RS256 OP key; prints its kid
//   node keys.mjs retire STATE_DIR   keep only the newest OP key per alg; prints kept kids
//   node keys.mjs list   STATE_DIR   print OP kids (signing order) and mini kids

import fs from 'node:fs';
import {
  die, ensureMiniKeys, ensureOpKeys, retireOpKeys, rotateOpKeys,
} from './lib.mjs';

const [cmd, stateDir] = process.argv.slice(2);
if (!cmd || !stateDir) die('usage: keys.mjs init|rotate|retire|list STATE_DIR', 2);
if (!fs.existsSync(stateDir)) die(`no such state dir: ${stateDir}`);

switch (cmd) {
  case 'init':
    ensureOpKeys(stateDir);
    ensureMiniKeys(stateDir);
    break;
  case 'rotate':
    process.stdout.write(`${rotateOpKeys(stateDir)}\n`);
    break;
  case 'retire': {
    const { kept, dropped } = retireOpKeys(stateDir);
    if (dropped.length) process.stderr.write(`retired: ${dropped.join(' ')}\n`);
    process.stdout.write(`${kept.join('\n')}\n`);
    break;
  }
  case 'list':
    for (const k of ensureOpKeys(stateDir)) process.stdout.write(`op ${k.alg} ${k.kid}\n`);
    for (const k of ensureMiniKeys(stateDir)) process.stdout.write(`mini ${k.alg} ${k.kid}\n`);
    break;
  default:
    die(`unknown command ${cmd}`, 2);
}
