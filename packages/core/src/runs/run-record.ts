import { readFile, readdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { SkippedItem } from "../plugin.js";
import type { PortType } from "../ports.js";
import { writeFileAtomic } from "../store/fs-store.js";

export type StepStatus = "pending" | "running" | "succeeded" | "failed" | "cancelled" | "not-run";
export type RunStatus = "running" | "succeeded" | "failed" | "cancelled";

export interface OutputRecord {
  key: string;
  hash: string;
  type: PortType;
  size: number;
}

/** What happened to one step in one run. */
export interface StepRecord {
  status: StepStatus;
  uses: string;
  /** hit: every output came from the cache; miss: computed (partly, for sharded steps resumed). */
  cache?: "hit" | "miss";
  key?: string;
  attempts: number;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  shards?: { count: number; fromCache: number };
  outputs: Record<string, OutputRecord>;
  skipped: SkippedItem[];
  error?: { code: string; message: string; hint?: string };
}

/** A run, readable as JSON (`latentflow inspect <run>`). */
export interface RunRecord {
  id: string;
  pipeline: string;
  file: string;
  executor: string;
  status: RunStatus;
  startedAt: string;
  finishedAt?: string;
  durationMs?: number;
  steps: Record<string, StepRecord>;
  error?: { code: string; message: string };
}

/** Where run records are kept. */
export interface RunStore {
  save(record: RunRecord): Promise<void>;
  load(id: string): Promise<RunRecord | undefined>;
  list(): Promise<RunRecord[]>;
}

/** Run records as JSON files, `<dir>/<id>.json`, each written atomically. */
export class FsRunStore implements RunStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  async save(record: RunRecord): Promise<void> {
    await writeFileAtomic(join(this.dir, `${record.id}.json`), JSON.stringify(record, null, 2));
  }

  async load(id: string): Promise<RunRecord | undefined> {
    try {
      return JSON.parse(await readFile(join(this.dir, `${id}.json`), "utf8")) as RunRecord;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
  }

  async list(): Promise<RunRecord[]> {
    let names: string[];
    try {
      names = (await readdir(this.dir)).filter((n) => n.endsWith(".json"));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw e;
    }
    const records = await Promise.all(names.map((n) => this.load(n.slice(0, -5))));
    return records.filter((r): r is RunRecord => r !== undefined).sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  }
}

/** A sortable, unique run id: time first, then randomness. */
export function newRunId(now = new Date()): string {
  const t = now.toISOString().replace(/[-:]/g, "").replace(/\..*$/, "").replace("T", "-");
  return `${t}-${Math.random().toString(36).slice(2, 8)}`;
}
