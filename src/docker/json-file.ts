// Reads the engine's `json-file` log driver format: one JSON object a line,
// {"log":"text\n","stream":"stdout","time":"2024-01-02T03:04:05.123456789Z"}
// (sometimes with "attrs"). A message longer than 16 KiB is written as
// several entries of one time whose "log" does not end in "\n"; they are
// joined back into one line. Times are written with trailing zeros trimmed;
// they are padded to 9 digits, as the logs API gives them, so that times
// compare as strings and a cursor from either source resumes the other.

import type { LogStream } from '../core/record.js';
import type { LogLine } from './log-lines.js';
import { engineTime } from './time.js';
import { PendingLines, STRING_TEXT } from './partial-line.js';

export interface JsonFileHandlers {
  line(line: LogLine): void;
  /** An entry that is not what the driver writes (skipped). */
  malformed(detail: string): void;
}

const LOG_START = '{"log":"'.length;
const LOG_KEY = Buffer.from('{"log":"');
const STREAM_KEY = Buffer.from('","stream":"');
const TIME_KEY = Buffer.from('","time":"');
const BACKSLASH = 0x5c;

/** Whether `bytes` holds `key` at `at`, before `end`. */
function holds(bytes: Buffer, at: number, key: Buffer, end: number): boolean {
  if (at + key.length > end) return false;
  for (let i = 0; i < key.length; i++) if (bytes[at + i] !== key[i]) return false;
  return true;
}

/**
 * Where the text of an entry of the common kind ends, so that it is read
 * without JSON.parse: {"log":"<text without escapes>\n","stream":"stdout",
 * "time":"…"}. An escape in the text (a quote, a backslash, a control
 * character, "<", ">", "&", U+2028, invalid UTF-8), a part of a longer line,
 * or "attrs": -1 (JSON.parse reads it). In the text every quote is escaped,
 * so the first `","stream":"` ends it; no byte of a multi-byte UTF-8
 * character is a quote or a backslash.
 */
function plainEntry(entry: Buffer, from: number, to: number): number {
  if (!holds(entry, from, LOG_KEY, to)) return -1;
  const textStart = from + LOG_START;
  // The only escape is the final "\n" (two characters: a backslash and an n),
  // right before the stream's key. Searched in the whole buffer, which may
  // hold the entries that follow: one found in them fails the key's check,
  // bounded by `to`.
  const backslash = entry.indexOf(BACKSLASH, textStart);
  if (backslash < 0 || entry[backslash + 1] !== 0x6e || !holds(entry, backslash + 2, STREAM_KEY, to)) return -1;
  const streamAt = backslash + 2;
  const s = streamAt + STREAM_KEY.length;
  // "stdout" or "stderr": "std", then "out" or "err".
  const std = entry[s] === 0x73 && entry[s + 1] === 0x74 && entry[s + 2] === 0x64;
  const which =
    std &&
    ((entry[s + 3] === 0x6f && entry[s + 4] === 0x75 && entry[s + 5] === 0x74) || (entry[s + 3] === 0x65 && entry[s + 4] === 0x72 && entry[s + 5] === 0x72));
  if (!which || !holds(entry, s + 6, TIME_KEY, to) || entry[to - 2] !== 0x22 || entry[to - 1] !== 0x7d) return -1;
  return streamAt - 2;
}

interface Entry {
  log?: unknown;
  stream?: unknown;
  time?: unknown;
}

/** Parses one container's json-file entries, line by line, in the order written. */
export class JsonFileParser {
  private readonly pending = new PendingLines(STRING_TEXT);

  constructor(
    private readonly handlers: JsonFileHandlers,
    private readonly maxLine: number,
  ) {}

  /**
   * One entry: `entry[from, to)`, without its "\n" (only read during the
   * call). The common kind is decoded field by field: its text and time
   * become strings, nothing else of it does.
   */
  push(entry: Buffer, from: number, to: number): void {
    /** The text without its line end. */
    let text: string;
    /** The text ended the line (else: a part of a longer line). */
    let complete: boolean;
    let stream: LogStream;
    /** Docker's time, with nine digits. */
    let time: string;
    /** The text is ASCII without escapes (see LogLine). */
    let plain = false;
    const textEnd = plainEntry(entry, from, to);
    if (textEnd >= 0) {
      text = entry.toString('utf8', from + LOG_START, textEnd);
      complete = true;
      // Nothing in the text is escaped (plainEntry), and as many characters as bytes: ASCII.
      plain = text.length === textEnd - (from + LOG_START);
      const s = textEnd + 2 + STREAM_KEY.length;
      stream = entry[s + 3] === 0x6f /* stdout */ ? 'stdout' : 'stderr';
      const timeAt = s + 6 + TIME_KEY.length;
      time = engineTime(entry.toString('latin1', timeAt, to - 2));
    } else {
      let parsed: Entry | null;
      try {
        parsed = JSON.parse(entry.toString('utf8', from, to)) as Entry | null;
      } catch {
        this.handlers.malformed(`an entry that is not JSON (${to - from} bytes)`);
        return;
      }
      if (typeof parsed !== 'object' || parsed === null) {
        this.handlers.malformed('an entry that is not a JSON object');
        return;
      }
      const e = parsed;
      if (typeof e.log !== 'string' || (e.stream !== 'stdout' && e.stream !== 'stderr') || typeof e.time !== 'string') {
        this.handlers.malformed('an entry without log, stream or time');
        return;
      }
      complete = e.log.length > 0 && e.log.charCodeAt(e.log.length - 1) === 0x0a;
      text = complete ? STRING_TEXT.trimEol(e.log) : e.log;
      stream = e.stream;
      time = engineTime(e.time);
    }
    if (complete && this.pending.get(stream) === undefined) {
      this.emit(stream, time, text, false, plain);
      return;
    }
    const joined = this.pending.add(stream, time, text, complete, this.maxLine);
    if (joined !== undefined) this.emit(stream, joined.time, joined.text(), joined.truncated);
  }

  /** The file is read to its end and will not grow: lines still waiting for their end are sent. */
  end(): void {
    for (const [stream, line] of this.pending.drain()) this.emit(stream, line.time, line.text(), line.truncated);
  }

  private emit(stream: LogStream, time: string, message: string, truncated: boolean, plain = false): void {
    // The maximum is in bytes, as for the logs API: counted only when it may matter.
    if (message.length * 3 > this.maxLine && Buffer.byteLength(message) > this.maxLine) {
      message = Buffer.from(message).subarray(0, this.maxLine).toString('utf8');
      truncated = true;
    }
    this.handlers.line({ stream, time, message, truncated, plain });
  }
}
