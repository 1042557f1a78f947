#!/usr/bin/env node
// The command: reads the config (a bad value exits 2 before anything else),
// answers --help, --version and --healthcheck, and otherwise runs sidekick
// (app/run.ts), with a heap limit (relaunch.ts).

import { version } from './core/version.js';
import { ConfigError, helpText, loadConfig, type Config } from './config/load.js';
import { heapLimitFor } from './observe/heap.js';
import { createLogger } from './observe/logger.js';
import { endWithParent, heapLimitGiven, relaunchWithHeapLimit } from './relaunch.js';
import { memoryOfBuffers } from './pipeline/buffer/buffer.js';

/** The image's HEALTHCHECK: GET /healthz of the sidekick running with the same settings. */
async function healthcheck(config: Config): Promise<void> {
  const addr = config.metricsAddr;
  if (addr === undefined) {
    process.stderr.write('sidekick: SIDEKICK_METRICS_ADDR is off: there is no /healthz to ask\n');
    process.exit(1);
  }
  const host = addr.host === undefined || addr.host === '' || addr.host === '0.0.0.0' || addr.host === '::' ? '127.0.0.1' : addr.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${addr.port}/healthz`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    process.stdout.write(`${url}: ${res.status}\n`);
    process.exit(res.status === 200 ? 0 : 1);
  } catch (err) {
    process.stderr.write(`sidekick: ${url}: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

function main(): void {
  let result: ReturnType<typeof loadConfig>;
  try {
    result = loadConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`sidekick: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  if (result.kind === 'help') {
    process.stdout.write(helpText());
    return;
  }
  if (result.kind === 'healthcheck') {
    void healthcheck(result.config);
    return;
  }
  if (result.kind === 'version') {
    process.stdout.write(`${version()}\n`);
    return;
  }
  if (!heapLimitGiven(process.execArgv, process.env['NODE_OPTIONS'])) {
    relaunchWithHeapLimit(heapLimitFor(memoryOfBuffers(result.config.sinks.map((s) => s.buffer))));
    return;
  }
  endWithParent();
  const { config } = result;
  const log = createLogger(config.logLevel);
  import('./app/run.js')
    .then(({ run }) => run(config, log))
    .catch((err: Error) => {
      log.fatal({ err: err.message, stack: err.stack }, 'sidekick failed');
      process.exit(1);
    });
}

main();
