// sidekick's own logs: JSON lines on stderr (stdout carries records).

import { pino, type Logger } from 'pino';
import type { LogLevel } from '../config/settings.js';

export function createLogger(level: LogLevel): Logger {
  return pino({ name: 'sidekick', level, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: 2, sync: true }));
}
