import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { LatentflowError } from "../errors.js";
import type { PortType } from "../ports.js";
import type { ArtifactManifest, ArtifactStore, PutOptions, StoreLocator } from "./artifact-store.js";
import { buildManifest, corruptArtifact, verifyFile } from "./manifest.js";

const KEY = /^[a-f0-9]{16,128}$/;
const MANIFEST = "manifest.json";

function checkKey(key: string): void {
  if (!KEY.test(key)) throw new LatentflowError("E_ARTIFACT_KEY", `artifact keys are lowercase hex (16–128 chars), found '${key}'`);
}

async function writeDurable(path: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const fh = await open(path, "w");
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Artifacts as directories on a local (or shared) file system:
 * `<root>/objects/<key[0..2]>/<key>/{manifest.json, files…}`. A put writes a temporary directory and
 * renames it into place, so a crash leaves either the whole artifact or none of it.
 */
export class FsArtifactStore implements ArtifactStore {
  readonly kind = "fs";
  readonly location: string;

  constructor(root: string) {
    this.location = resolve(root);
  }

  private dir(key: string): string {
    checkKey(key);
    return join(this.location, "objects", key.slice(0, 2), key);
  }

  /** `{ kind: "fs", root }`: a worker that mounts the same path opens the same store. */
  locator(): StoreLocator {
    return { kind: "fs", root: this.location };
  }

  async has(key: string): Promise<boolean> {
    return (await this.stat(key)) !== undefined;
  }

  async stat(key: string): Promise<ArtifactManifest | undefined> {
    let text: string;
    try {
      text = await readFile(join(this.dir(key), MANIFEST), "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
    try {
      return JSON.parse(text) as ArtifactManifest;
    } catch (e) {
      throw corruptArtifact({ key }, MANIFEST, this.location, `the manifest is not JSON (${(e as Error).message})`);
    }
  }

  async put(key: string, type: PortType, files: Record<string, Uint8Array>, info?: Record<string, unknown>, options?: PutOptions): Promise<ArtifactManifest> {
    const final = this.dir(key);
    const replace = options?.replace ?? false;
    if (!replace) {
      const existing = await this.stat(key);
      if (existing) return existing;
    }
    const manifest = buildManifest(key, type, files, info);
    const tmp = join(this.location, "tmp", `${key}.${process.pid}.${randomBytes(4).toString("hex")}`);
    try {
      for (const f of manifest.files) await writeDurable(join(tmp, f.name), files[f.name]!);
      // The manifest goes last: a directory with a manifest is complete.
      await writeDurable(join(tmp, MANIFEST), Buffer.from(JSON.stringify(manifest, null, 1)));
      await mkdir(dirname(final), { recursive: true });
      // A replacing put moves the old directory aside and renames ours in (a few times if other writers
      // race it); a reader in between finds no artifact, never half of one.
      for (let tries = 0; ; tries++) {
        try {
          await rename(tmp, final);
          return manifest;
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code !== "ENOTEMPTY" && code !== "EEXIST") throw e;
          if (!replace || tries >= 5) {
            // Another writer won the race with the same key; the first artifact stays.
            const winner = await this.stat(key);
            if (winner) return winner;
            throw e;
          }
          const old = `${tmp}.old`;
          await rename(final, old).catch((err: NodeJS.ErrnoException) => {
            if (err.code !== "ENOENT") throw err;
          });
          await rm(old, { recursive: true, force: true });
        }
      }
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  async read(key: string, name: string): Promise<Uint8Array> {
    const manifest = await this.stat(key);
    if (!manifest) throw new LatentflowError("E_ARTIFACT_MISSING", `no artifact ${key} in ${this.location}`);
    if (!manifest.files.some((f) => f.name === name)) {
      throw new LatentflowError("E_ARTIFACT_MISSING", `artifact ${key} has no file '${name}' (it has ${manifest.files.map((f) => f.name).join(", ")})`);
    }
    let bytes: Uint8Array;
    try {
      bytes = await readFile(join(this.dir(key), name));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") {
        throw corruptArtifact(manifest, name, this.location, "the file is listed but missing");
      }
      throw e;
    }
    verifyFile(manifest, name, bytes, this.location);
    return bytes;
  }

  async delete(key: string): Promise<boolean> {
    const dir = this.dir(key);
    // Not `has`: a damaged manifest must not stop its artifact from being deleted.
    const existed = await stat(join(dir, MANIFEST)).then(() => true, () => false);
    // Remove the manifest first so a concurrent reader sees "absent", never "half".
    await rm(join(dir, MANIFEST), { force: true });
    await rm(dir, { recursive: true, force: true });
    return existed;
  }

  async *list(): AsyncIterable<ArtifactManifest> {
    const objects = join(this.location, "objects");
    let prefixes: string[];
    try {
      prefixes = (await readdir(objects)).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
      throw e;
    }
    for (const p of prefixes) {
      for (const key of (await readdir(join(objects, p))).sort()) {
        const m = await this.stat(key);
        if (m) yield m;
      }
    }
  }

  async *listKeys(): AsyncIterable<string> {
    const objects = join(this.location, "objects");
    const prefixes = await readdir(objects).catch(() => [] as string[]);
    for (const p of prefixes.sort()) {
      for (const key of (await readdir(join(objects, p))).sort()) {
        if (KEY.test(key) && (await stat(join(objects, p, key, MANIFEST)).catch(() => undefined))) yield key;
      }
    }
  }

  /** Removes temporary directories left by crashed writers older than `olderThanMs`. */
  async cleanTmp(olderThanMs = 60 * 60 * 1000): Promise<number> {
    const tmp = join(this.location, "tmp");
    let removed = 0;
    let names: string[] = [];
    try {
      names = await readdir(tmp);
    } catch {
      return 0;
    }
    for (const n of names) {
      const s = await stat(join(tmp, n)).catch(() => undefined);
      if (s && Date.now() - s.mtimeMs > olderThanMs) {
        await rm(join(tmp, n), { recursive: true, force: true });
        removed++;
      }
    }
    return removed;
  }
}

/** Writes a small file atomically (temp + rename); used for run records. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  await mkdir(dirname(path), { recursive: true });
  await writeFile(tmp, data);
  await rename(tmp, path);
}
