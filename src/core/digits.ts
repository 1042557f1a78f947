// A whole number's decimal digits counted and written into bytes without
// making a string of it: done a line (an id's place, an offset, a frame's
// length) on the paths a flood takes.

/** How many decimal digits a whole number >= 0 has. */
export function digits(n: number): number {
  let count = 1;
  for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) count++;
  return count;
}

/** A whole number >= 0 written in ASCII digits at `at`; returns where they end. */
export function writeDigits(buf: Buffer, at: number, n: number): number {
  const end = at + digits(n);
  for (let k = end - 1, rest = n; k >= at; k--, rest = Math.floor(rest / 10)) buf[k] = 0x30 + (rest % 10);
  return end;
}
