import type { Logger } from "../plugin.js";
import type { RunRecord, RunStore } from "./run-record.js";

/**
 * Keeps a run record saved without writing it on every change: one write in flight at a time, changes made
 * meanwhile coalesce into the next write, and writes are at least `intervalMs` apart. A run of hundreds
 * of steps would otherwise rewrite its whole (growing) record twice per step. `flush` writes the latest
 * state and waits for it.
 */
export function createRecordSaver(record: RunRecord, store: RunStore | undefined, log: Logger, intervalMs = 200): { save(): void; flush(): Promise<void> } {
  let dirty = false;
  let writing: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let last = 0;

  const write = async (): Promise<void> => {
    while (dirty) {
      dirty = false;
      last = Date.now();
      try {
        // The store serialises the record now, so later changes cannot tear this write.
        await store!.save(record);
      } catch (e) {
        log.error(`could not save run record ${record.id}: ${e}`);
      }
    }
  };
  const start = () => {
    timer = undefined;
    if (writing) return;
    writing = write().finally(() => {
      writing = undefined;
      if (dirty) schedule();
    });
  };
  const schedule = () => {
    if (timer || writing) return;
    const wait = Math.max(0, last + intervalMs - Date.now());
    if (wait === 0) start();
    else timer = setTimeout(start, wait);
  };
  return {
    save() {
      if (!store) return;
      dirty = true;
      schedule();
    },
    async flush() {
      if (!store) return;
      if (timer) {
        clearTimeout(timer);
        timer = undefined;
      }
      dirty = true;
      while (writing) await writing;
      if (dirty) {
        writing = write().finally(() => {
          writing = undefined;
        });
        await writing;
      }
    },
  };
}
