import { readFile, readdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { LatentflowError } from "../errors.js";
import type { SkippedItem } from "../plugin.js";
import type { StepError } from "../executor/error-record.js";
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
  /** The step's error: code, message, hint and data as the step raised it (errorRecord). */
  error?: StepError;
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

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Whether `id` has the form of a run id: letters, digits, '.', '_' and '-', starting with a letter or digit, at most 128. */
export function isRunId(id: unknown): id is string {
  return typeof id === "string" && RUN_ID.test(id);
}

/** Throws E_RUN_ID unless `id` is a run id; every store checks the ids it turns into paths or keys. */
export function checkRunId(id: unknown): string {
  if (!isRunId(id)) {
    throw new LatentflowError("E_RUN_ID", `expected a run id (letters, digits, '.', '_' or '-', starting with a letter or digit, at most 128), found ${JSON.stringify(id)}`, {
      hint: "'latentflow runs' lists the run ids",
    });
  }
  return id;
}

/** Run records as JSON files, `<dir>/<id>.json`, each written atomically. */
export class FsRunStore implements RunStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  /** The record file of run `id`, checked to lie directly in this store's directory. */
  private path(id: string): string {
    const path = resolve(this.dir, `${checkRunId(id)}.json`);
    if (dirname(path) !== this.dir) throw new LatentflowError("E_RUN_ID", `run id ${JSON.stringify(id)} points outside ${this.dir}`);
    return path;
  }

  async save(record: RunRecord): Promise<void> {
    await writeFileAtomic(this.path(record.id), JSON.stringify(record, null, 2));
  }

  async load(id: string): Promise<RunRecord | undefined> {
    const path = this.path(id);
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
    let record: Partial<RunRecord> | undefined;
    try {
      record = JSON.parse(text) as Partial<RunRecord>;
    } catch {
      // reported below
    }
    if (!record || typeof record !== "object" || record.id !== id || !record.steps || typeof record.steps !== "object") {
      throw new LatentflowError("E_RUN_RECORD", `${path} is not the record of run ${id}`, { hint: "delete the file, or re-run the pipeline" });
    }
    return record as RunRecord;
  }

  async list(): Promise<RunRecord[]> {
    let names: string[];
    try {
      names = (await readdir(this.dir)).filter((n) => n.endsWith(".json") && isRunId(n.slice(0, -5)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw e;
    }
    // A stray or broken file in the directory does not hide every other run.
    const records = await Promise.all(names.map((n) => this.load(n.slice(0, -5)).catch(() => undefined)));
    return records.filter((r): r is RunRecord => r !== undefined).sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  }
}

/** A sortable, unique run id: time first, then randomness. */
export function newRunId(now = new Date()): string {
  const t = now.toISOString().replace(/[-:]/g, "").replace(/\..*$/, "").replace("T", "-");
  return `${t}-${Math.random().toString(36).slice(2, 8)}`;
}
