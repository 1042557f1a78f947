// Docker's times, as records carry them: RFC 3339 in UTC with exactly nine
// fractional digits, so that they sort as text. The engine writes fewer
// digits (trailing zeros trimmed), Podman whole seconds or an offset.

import { millisToTime } from '../core/record.js';

const ZEROS = '000000000';
/** The length of Docker's own form, "2006-01-02T15:04:05.000000000Z", and the characters its shape is known by. */
const NANO_TIME = 30;
const UTC = 0x5a;
const T = 0x54;
const DOT = 0x2e;
const UTC_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z$/;

/** Docker's time padded to 9 fractional digits; '' if it is not a time. */
export function normalizeTime(time: string): string {
  const n = time.length;
  if (!UTC_TIME.test(time)) {
    const ms = Date.parse(time);
    return Number.isFinite(ms) ? millisToTime(ms) : '';
  }
  const dot = time.indexOf('.', 19);
  if (dot < 0) return time.slice(0, n - 1) + '.' + ZEROS + 'Z';
  const digits = n - 1 - (dot + 1);
  return digits === 9 ? time : digits > 9 ? time.slice(0, dot + 10) + 'Z' : time.slice(0, n - 1) + ZEROS.slice(digits) + 'Z';
}

/**
 * A time as the log readers get it from the engine, a line's: Docker's own
 * form with all nine digits (most of its times) is taken as it is by its
 * shape (its length, "T", "." and "Z"): about 0.02 us a line here, where
 * checking every character took 0.1-0.3 us, up to a tenth of a json-file
 * line's whole cost; any other form as normalizeTime makes it.
 * Times from anywhere else go through normalizeTime, which checks them whole.
 */
export function engineTime(time: string): string {
  const n = time.length;
  return n === NANO_TIME && time.charCodeAt(n - 1) === UTC && time.charCodeAt(10) === T && time.charCodeAt(19) === DOT ? time : normalizeTime(time);
}
