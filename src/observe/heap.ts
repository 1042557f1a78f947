// The memory budget. Records a full buffer holds live long enough to reach
// V8's old space, and V8 lets that space grow well past its live data before
// it collects: without a heap limit, the resident size under a flood is a
// multiple of the buffers. With --max-old-space-size at about twice the
// buffers plus a margin, it stays near the buffers plus that margin.

const MIB = 1024 * 1024;
/** Beyond the buffers: parsers, streams, metrics, young objects. */
export const HEAP_MARGIN = 64 * MIB;

/** The old-space limit (MiB) that bounds memory for buffers of `bytes` in all. */
export function heapLimitFor(bytes: number): number {
  return Math.ceil((2 * bytes + HEAP_MARGIN) / MIB);
}

export type HeapAdvice =
  | { readonly kind: 'ok' }
  /** Full buffers would not fit: sidekick could run out of heap. */
  | { readonly kind: 'too-small'; readonly limitMiB: number; readonly wantMiB: number }
  /** No bound near the buffers: memory may grow to several times them under a flood. */
  | { readonly kind: 'unbounded'; readonly limitMiB: number; readonly wantMiB: number };

export function heapAdvice(bufferBytes: number, heapLimitBytes: number): HeapAdvice {
  const want = heapLimitFor(bufferBytes);
  const limit = Math.round(heapLimitBytes / MIB);
  if (limit < (1.5 * bufferBytes + 32 * MIB) / MIB) return { kind: 'too-small', limitMiB: limit, wantMiB: want };
  if (limit > 2 * want) return { kind: 'unbounded', limitMiB: limit, wantMiB: want };
  return { kind: 'ok' };
}
