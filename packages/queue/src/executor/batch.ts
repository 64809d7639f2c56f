/** An item of a batch that failed on its own (the others of the batch stand). */
export class Failed {
  constructor(readonly error: unknown) {}
}

/**
 * Collects calls into batches: `run` gets every item asked for while the previous batch was in flight (or,
 * when idle, in the same turn of the event loop), at most one batch is in flight at a time, and batches
 * start at least `minIntervalMs` apart. An idle fleet pays no wait (the last batch is long past); a busy
 * one sends one round trip for many steps instead of one each. A batch holds at most `maxItems`; the rest
 * wait for the next.
 */
export function batcher<I, O>(run: (items: I[]) => Promise<(O | Failed)[]>, minIntervalMs = 0, maxItems = Number.POSITIVE_INFINITY): (item: I) => Promise<O> {
  let queued: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  let inFlight = false;
  let scheduled = false;
  let last = Number.NEGATIVE_INFINITY;
  const schedule = () => {
    if (inFlight || scheduled || !queued.length) return;
    scheduled = true;
    const wait = last + minIntervalMs - performance.now();
    if (wait > 0) setTimeout(next, wait);
    else setImmediate(next);
  };
  const next = () => {
    scheduled = false;
    if (inFlight || !queued.length) return;
    last = performance.now();
    const batch = queued.length > maxItems ? queued.splice(0, maxItems) : queued;
    if (batch === queued) queued = [];
    inFlight = true;
    run(batch.map((b) => b.item))
      .then(
        (out) =>
          batch.forEach((b, i) => {
            const o = out[i];
            if (o instanceof Failed) b.reject(o.error);
            else b.resolve(o as O);
          }),
        (e: unknown) => {
          for (const b of batch) b.reject(e);
        },
      )
      .finally(() => {
        inFlight = false;
        schedule();
      });
  };
  return (item) =>
    new Promise<O>((resolve, reject) => {
      queued.push({ item, resolve, reject });
      schedule();
    });
}
