// The API-or-file choice for one container's logs: its json-file when
// SIDEKICK_LOGS_SOURCE allows it, the container logs with the json-file
// driver, and its folder can be read here; else the logs API.

import { once } from '../../observe/events.js';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { ContainerInspectInfo } from 'dockerode';
import type { Logger } from 'pino';
import type { LogsSource } from '../../config/settings.js';
import type { ContainerMeta } from '../../core/record.js';

async function readable(dir: string): Promise<boolean> {
  try {
    await access(dir, constants.R_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export class LogFileChoice {
  /** Said once that no json-file can be read here (every container is then read through the API). */
  private readonly firstNoFiles = once();

  constructor(
    private readonly source: LogsSource,
    /**
     * The engine's data root (`DockerRootDir`): where a json-file is before
     * Docker says so (an inspect of a created container has no `LogPath` yet).
     */
    private readonly dockerRoot: string | undefined,
    private readonly log: Logger,
  ) {}

  /** The json-file to read the container's logs from; undefined: the logs API. */
  async pathOf(info: ContainerInspectInfo, meta: ContainerMeta): Promise<string | undefined> {
    if (this.source === 'api') return undefined;
    const driver = info.HostConfig?.LogConfig?.Type;
    // Docker names the json-file once the container starts; its name is fixed
    // from the create on: `<DockerRootDir>/containers/<id>/<id>-json.log`.
    const root = this.dockerRoot;
    const path = info.LogPath !== '' ? info.LogPath : root === undefined ? undefined : join(root, 'containers', info.Id, `${info.Id}-json.log`);
    let why: string | undefined;
    if (driver !== 'json-file') why = `its log driver is ${driver ?? 'unknown'}, not json-file`;
    else if (path === undefined || path === '') why = 'Docker gives no log path';
    // Podman says json-file for its k8s-file driver, whose file (`…/ctr.log`) is in the CRI format.
    else if (basename(path) !== `${info.Id}-json.log`) why = `${path} is not a Docker json-file`;
    else if (await readable(dirname(path))) return path;
    else why = `${dirname(path)} cannot be read here: mount /var/lib/docker/containers read-only at the same path, as a user who can read it (README)`;
    if (this.source === 'files') this.log.warn({ container: meta.name, id: meta.id, why }, 'logs read through the API: the json-file cannot be');
    else if (path !== undefined && !(await readable(dirname(dirname(path)))) && this.firstNoFiles()) {
      this.log.info({ why }, 'json-files cannot be read here: logs are read through the logs API, where short --rm jobs can be missed');
    }
    return undefined;
  }
}
