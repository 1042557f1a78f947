// sidekick's own HTTP server: /metrics for Prometheus, /healthz (alive),
// /readyz (the Docker daemon answers and the event stream is attached) and
// /status (each container's stream and lag, each sink's buffer and last
// error: "it stopped sending" diagnosed in one request). GET only.

import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface Readiness {
  readonly ready: boolean;
  readonly reason?: string;
}

export interface ServerSources {
  readonly registry: Registry;
  readiness(): Readiness;
  status(): unknown;
}

export async function startServer(
  addr: { readonly host: string | undefined; readonly port: number },
  sources: ServerSources,
): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body) + '\n');
    };
    switch (path) {
      case '/metrics':
        sources.registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': sources.registry.contentType }).end(text),
          (err: Error) => res.writeHead(500).end(err.message),
        );
        return;
      case '/healthz':
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
        return;
      case '/readyz': {
        const r = sources.readiness();
        json(r.ready ? 200 : 503, r);
        return;
      }
      case '/status':
        json(200, sources.status());
        return;
      default:
        res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(addr.port, addr.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
