// dockerode loads, on its first require, an SSH client (docker-modem's
// ssh:// transport: ssh2 and its crypto) and a gRPC stack (dockerode's
// BuildKit sessions: @grpc/grpc-js, protobufjs), about 25 MiB resident.
// sidekick uses neither: DOCKER_HOST is unix:// or tcp://, and it builds no
// images. The two modules that pull them in are replaced by stubs before
// dockerode is loaded; this module is main's first import for that reason.
// The container image's bundle leaves them out at build time instead
// (scripts/bundle.mjs), where there is no node_modules to resolve here.

import { createRequire, Module } from 'node:module';

/** dockerode's internal modules sidekick never calls, with what each was for. */
export const UNUSED_DOCKERODE_MODULES: Readonly<Record<string, string>> = {
  'docker-modem/lib/ssh.js': 'ssh:// DOCKER_HOST',
  'dockerode/lib/session.js': 'BuildKit sessions',
};

function unused(what: string): () => never {
  return () => {
    throw new Error(`${what}: not available in sidekick`);
  };
}

const require = createRequire(import.meta.url);
for (const [internal, what] of Object.entries(UNUSED_DOCKERODE_MODULES)) {
  let path: string;
  try {
    path = require.resolve(internal);
  } catch {
    continue; // bundled: left out at build time
  }
  const stub = new Module(path);
  stub.filename = path;
  stub.loaded = true;
  stub.exports = unused(what);
  require.cache[path] = stub;
}
