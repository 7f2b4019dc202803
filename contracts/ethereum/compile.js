// Compiles the anchor and the verifier with the solc-js version pinned in
// package.json and writes build/<Contract>.abi and build/<Contract>.bin.
// Run through gen.sh.
'use strict';
const fs = require('fs');
const path = require('path');
const solc = require('solc');

const sources = ['Verifier.sol', 'CheckpointAnchor.sol'];
const input = {
  language: 'Solidity',
  sources: Object.fromEntries(sources.map((f) => [f, { content: fs.readFileSync(path.join(__dirname, f), 'utf8') }])),
  settings: {
    evmVersion: 'prague',
    optimizer: { enabled: true, runs: 200 },
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
  },
};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
let failed = false;
for (const e of out.errors || []) {
  console.error(e.formattedMessage);
  if (e.severity === 'error') failed = true;
}
if (failed) process.exit(1);
const build = path.join(__dirname, 'build');
fs.mkdirSync(build, { recursive: true });
for (const [file, name] of [['Verifier.sol', 'Verifier'], ['CheckpointAnchor.sol', 'CheckpointAnchor']]) {
  const c = out.contracts[file][name];
  fs.writeFileSync(path.join(build, name + '.abi'), JSON.stringify(c.abi) + '\n');
  fs.writeFileSync(path.join(build, name + '.bin'), c.evm.bytecode.object + '\n');
}
console.log('solc ' + solc.version());
