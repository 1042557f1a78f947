// The minimal collector on docker-loghose: every container's lines as JSON on stdout.
const loghose = require('docker-loghose');
const out = loghose({ json: false, newline: true });
out.on('data', (entry) => process.stdout.write(JSON.stringify(entry) + '\n'));
