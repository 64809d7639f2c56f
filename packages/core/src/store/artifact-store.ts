import type { PortType } from "../ports.js";

export interface ArtifactFileInfo {
  name: string;
  size: number;
  sha256: string;
}

/** What a store knows about one artifact. `hash` is over its content only, so equal outputs hash equal. */
export interface ArtifactManifest {
  key: string;
  type: PortType;
  hash: string;
  files: ArtifactFileInfo[];
  size: number;
  createdAt: string;
  /** Free-form provenance: producing step, plugin version, run id. Not part of `hash`. */
  info?: Record<string, unknown>;
}

/** How a put treats an artifact already stored under its key. */
export interface PutOptions {
  /**
   * Replace what is stored (e.g. a run with `--force`, repairing a damaged copy) instead of keeping it.
   * Readers still never see half an artifact; between the old and the new one they may see none.
   */
  replace?: boolean;
}

/**
 * How another process opens the same store (a fleet worker): JSON, `kind` first. Each store kind
 * documents its own fields (`fs`: `root`; `redis`: `prefix`, `ttlSeconds`).
 */
export type StoreLocator = { kind: string } & Record<string, string | number | boolean>;

/** One artifact of a `putMany`. */
export interface PutItem {
  key: string;
  type: PortType;
  files: Record<string, Uint8Array>;
  info?: Record<string, unknown>;
  /** The manifest as the writer built it (saves recomputing hashes). */
  manifest?: ArtifactManifest;
  replace?: boolean;
}

/**
 * Where artifacts live. Keys are cache keys chosen by the engine; an artifact, once put, never changes.
 * `put` is atomic (readers never see half an artifact) and idempotent (a second put of a key keeps the
 * first, unless told to replace it); `read` verifies the file against its recorded hash.
 */
export interface ArtifactStore {
  readonly kind: string;
  /** Human-readable location (a path, a Redis URL). */
  readonly location: string;
  has(key: string): Promise<boolean>;
  stat(key: string): Promise<ArtifactManifest | undefined>;
  put(key: string, type: PortType, files: Record<string, Uint8Array>, info?: Record<string, unknown>, options?: PutOptions): Promise<ArtifactManifest>;
  read(key: string, name: string): Promise<Uint8Array>;
  delete(key: string): Promise<boolean>;
  list(): AsyncIterable<ArtifactManifest>;
  /** Every stored key, including those whose manifest cannot be read (for `latentflow store verify`). */
  listKeys?(): AsyncIterable<string>;
  close?(): Promise<void>;
  /** Where another process finds this store; absent for a store only this process can open (in memory). */
  locator?(): StoreLocator;
  /** `has` of many keys, in one round trip where the store can. */
  hasMany?(keys: string[]): Promise<boolean[]>;
  /** `put` of many artifacts, in one round trip where the store can; same semantics as `put` for each. */
  putMany?(items: PutItem[]): Promise<ArtifactManifest[]>;
}
