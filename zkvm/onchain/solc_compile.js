#!/usr/bin/env node
// Compile Solidity with the npm-pinned solcjs: solc standard-JSON input on
// stdin, solc's standard-JSON output on stdout (zkvm/onchain/evm.py drives it).
//
// `solc` is resolved from $ZKVM_NODE_MODULES when set, else from the repo
// root's node_modules (installed by `npm ci` from package-lock.json), so the
// compiler version is the one pinned in package.json, never a global one.
'use strict';
const path = require('path');

function loadSolc() {
  const dirs = [];
  if (process.env.ZKVM_NODE_MODULES) dirs.push(process.env.ZKVM_NODE_MODULES);
  dirs.push(path.resolve(__dirname, '..', '..', 'node_modules'));
  for (const dir of dirs) {
    try {
      return require(require.resolve('solc', { paths: [dir] }));
    } catch (e) {
      if (e.code !== 'MODULE_NOT_FOUND') throw e;
    }
  }
  process.stderr.write(
    'solc_compile.js: the npm package "solc" was not found in ' + dirs.join(', ') +
    ' (run `npm ci` at the repo root, or set ZKVM_NODE_MODULES)\n');
  process.exit(3);
}

const solc = loadSolc();
if (process.argv.includes('--version')) {
  // `--version`: print the compiler's long version and exit (no stdin read).
  process.stdout.write(solc.version() + '\n');
} else {
  const chunks = [];
  process.stdin.on('data', (c) => chunks.push(c));
  process.stdin.on('end', () => {
    process.stdout.write(solc.compile(Buffer.concat(chunks).toString('utf8')));
  });
}
