import { LatentflowError } from "./errors.js";

interface Entry {
  value: Promise<unknown>;
  dispose?: (value: never) => void | Promise<void>;
}

/** Counts of a resource cache, for tests and benchmarks: how many loads ran and how many were shared. */
export interface ResourceStats {
  loads: number;
  hits: number;
  /** Loads per key. */
  byKey: Record<string, number>;
}

/**
 * Heavy things a step loads (a model session, word vectors, a tokenizer), kept per process and shared
 * across shards and steps: the first `use` of a key loads it, later ones (even concurrent ones) get the same
 * value, and `dispose` frees everything at the end of the run (local executor) or of the worker (fleet). A
 * key names what was loaded and every option that changes it (e.g. `encoders-text/use:onnxruntime:threads=2`).
 * A load that fails is not kept: the next `use` tries again. Values are shared, so steps must not mutate
 * them or dispose them themselves.
 */
export class ResourceCache {
  private readonly entries = new Map<string, Entry>();
  private readonly counts: ResourceStats = { loads: 0, hits: 0, byKey: {} };
  private closed = false;

  /** The value under `key`, loading it with `load` when absent. `dispose` frees it when the cache is disposed. */
  use<T>(key: string, load: () => Promise<T>, dispose?: (value: T) => void | Promise<void>): Promise<T> {
    if (this.closed) return Promise.reject(new LatentflowError("E_DISPOSED", `resource cache: '${key}' requested after the cache was disposed`));
    const hit = this.entries.get(key);
    if (hit) {
      this.counts.hits++;
      return hit.value as Promise<T>;
    }
    this.counts.loads++;
    this.counts.byKey[key] = (this.counts.byKey[key] ?? 0) + 1;
    const value = load();
    const entry: Entry = { value, ...(dispose ? { dispose: dispose as (v: never) => void | Promise<void> } : {}) };
    this.entries.set(key, entry);
    value.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    return value;
  }

  /** Whether `key` is loaded or loading. */
  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** Frees one resource (e.g. to make room); the next `use` loads it again. */
  async release(key: string): Promise<void> {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    await disposeEntry(entry);
  }

  stats(): ResourceStats {
    return { loads: this.counts.loads, hits: this.counts.hits, byKey: { ...this.counts.byKey } };
  }

  /** Frees every resource (in reverse order of loading); idempotent. Later `use` calls fail with E_DISPOSED. */
  async dispose(): Promise<void> {
    this.closed = true;
    const entries = [...this.entries.values()].reverse();
    this.entries.clear();
    const errors: unknown[] = [];
    for (const e of entries) {
      try {
        await disposeEntry(e);
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length) throw errors[0];
  }
}

async function disposeEntry(entry: Entry): Promise<void> {
  let value: unknown;
  try {
    value = await entry.value;
  } catch {
    return; // never loaded: nothing to free
  }
  await entry.dispose?.(value as never);
}
