import { lstat, mkdir, open, readdir, stat, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, posix, relative, resolve, sep } from "node:path";
import picomatch from "picomatch";
import { throwIfCancelled } from "../contracts/cancel.js";
import { LatentflowError } from "../errors.js";
import { mediaItem, type Item } from "../items.js";
import { checkMediaContainer } from "../media/check.js";
import { encodePng } from "../media/png.js";
import { extensionFor, sniffMediaType } from "../media/sniff.js";
import { encodeWav } from "../media/wav.js";
import type { ArtifactStore } from "../store/artifact-store.js";
import type { RowMeta } from "../vector-set.js";

/** An item that could not be read; readers hand it to `onItemError` (a step's onError policy) or throw it. */
export type ItemErrorHandler = (item: { index: number; id?: string }, error: LatentflowError) => void;

export interface ListFilesOptions {
  /** Glob patterns (picomatch) of relative paths to take. Default every file. */
  include?: string[];
  /** Glob patterns of relative paths to leave out. */
  exclude?: string[];
  /** Take files and folders whose names start with a dot. Default false. */
  hidden?: boolean;
  signal?: AbortSignal;
}

export interface ReadFilesOptions extends ListFilesOptions {
  /**
   * Label of each file from its folders: `top` the first folder under the root (torchvision's ImageFolder
   * layout, root/<class>/…), `parent` the folder the file is in, `none` no label. Default `top`.
   */
  labels?: "top" | "parent" | "none";
  /** Media types to keep (`image/*`, `audio/wav`): other identified files are left out. Default all. */
  mediaTypes?: string[];
  /** Read at most this many files (after sorting). */
  limit?: number;
  /** Files larger than this fail as items (E_FILE_TOO_LARGE). Default 256 MiB. */
  maxFileBytes?: number;
  /** Where an unreadable, empty, unidentified or corrupt file goes; without it the first one throws. */
  onItemError?: ItemErrorHandler;
  onProgress?: (done: number, total: number) => void;
}

export const DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024;

/**
 * Relative paths (with `/`) of the files under `root`, in code-point order of their paths so that every
 * machine lists them alike. Symbolic links to folders are not followed (no loops); links to files are.
 */
export async function listFiles(root: string, opts: ListFilesOptions = {}): Promise<string[]> {
  const top = resolve(root);
  const info = await stat(top).catch((e: NodeJS.ErrnoException) => {
    throw new LatentflowError("E_FILE_NOT_FOUND", `expected a folder at ${top}, found ${e.code === "ENOENT" ? "nothing" : e.message}`, { hint: "paths in a pipeline are relative to the pipeline file", data: { path: top } });
  });
  if (!info.isDirectory()) throw new LatentflowError("E_NOT_A_FOLDER", `expected a folder at ${top}, found a file`, { hint: "name the folder that holds the files (a glob goes in include:)" });
  const inc = opts.include?.length ? picomatch(opts.include, { dot: opts.hidden ?? false }) : undefined;
  const exc = opts.exclude?.length ? picomatch(opts.exclude, { dot: true }) : undefined;
  const out: string[] = [];
  // An explicit stack, not recursion: a deep tree cannot overflow it.
  const stack: string[] = [""];
  while (stack.length) {
    throwIfCancelled(opts.signal, `listing ${top}`);
    const rel = stack.pop()!;
    const entries = await readdir(join(top, rel), { withFileTypes: true });
    const dirs: string[] = [];
    for (const e of entries) {
      if (!opts.hidden && e.name.startsWith(".")) continue;
      const path = rel ? `${rel}/${e.name}` : e.name;
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        const s = await stat(join(top, path)).catch(() => undefined);
        isDir = false; // never followed
        isFile = s?.isFile() ?? false;
      }
      if (isDir) dirs.push(path);
      else if (isFile && (!inc || inc(path)) && !exc?.(path)) out.push(path);
    }
    dirs.sort().reverse();
    for (const d of dirs) if (!exc?.(d)) stack.push(d);
  }
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function labelOf(path: string, mode: ReadFilesOptions["labels"]): string | undefined {
  const parts = path.split("/");
  if (parts.length < 2 || mode === "none") return undefined;
  return mode === "parent" ? parts[parts.length - 2] : parts[0];
}

function typeMatcher(patterns: string[] | undefined): (t: string) => boolean {
  if (!patterns?.length) return () => true;
  return (t) => patterns.some((p) => (p.endsWith("/*") ? t.startsWith(p.slice(0, -1)) : t === p));
}

/** Reads a file whole unless it exceeds `max` bytes (then fails without reading it). */
async function readBounded(path: string, max: number, where: string): Promise<Uint8Array> {
  const fh = await open(path, "r");
  try {
    const { size } = await fh.stat();
    if (size > max) {
      throw new LatentflowError("E_FILE_TOO_LARGE", `${where}: expected at most ${max} bytes, found ${size}`, { hint: "raise maxFileBytes, or leave such files out with exclude:", data: { expected: max, found: size, where } });
    }
    const buf = new Uint8Array(size);
    let off = 0;
    while (off < size) {
      const { bytesRead } = await fh.read(buf, off, size - off, off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    return off === size ? buf : buf.subarray(0, off);
  } finally {
    await fh.close();
  }
}

function asItemError(e: unknown, where: string): LatentflowError {
  if (e instanceof LatentflowError) return e;
  const err = e as NodeJS.ErrnoException;
  return new LatentflowError("E_FILE_READ", `${where}: cannot read the file: ${err.code ?? err.message}`, { cause: e, data: { where } });
}

/**
 * One media item per file under `root` (see listFiles): the file's bytes, its media type sniffed from the
 * bytes (never the name) and checked for a whole container (checkMediaContainer); id = the relative path;
 * meta = { path, name, size, label? }. Empty, unidentified, corrupt, unreadable or too large files go to
 * `onItemError` (or throw without it).
 */
export async function readFileItems(root: string, opts: ReadFilesOptions = {}): Promise<Item[]> {
  const top = resolve(root);
  const all = await listFiles(top, opts);
  const paths = opts.limit !== undefined ? all.slice(0, opts.limit) : all;
  const keep = typeMatcher(opts.mediaTypes);
  const max = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const items: Item[] = [];
  for (let i = 0; i < paths.length; i++) {
    throwIfCancelled(opts.signal, `reading ${top}`);
    const path = paths[i]!;
    const where = `${top}${sep}${path.split("/").join(sep)}`;
    try {
      const bytes = await readBounded(join(top, path), max, where).catch((e: unknown) => {
        throw asItemError(e, where);
      });
      if (bytes.length === 0) throw new LatentflowError("E_EMPTY_FILE", `${where}: expected a media file, found 0 bytes`, { data: { where } });
      const mediaType = sniffMediaType(bytes);
      if (!mediaType) {
        throw new LatentflowError("E_MEDIA_TYPE", `${where}: expected a file of a known media type (PNG, JPEG, GIF, WebP, TIFF, AVIF, SVG, WAV, FLAC, MP3, Ogg, …), found bytes that are none of them`, {
          hint: "the file is damaged, or not media; leave such files out with exclude:, or use onError: skip",
          data: { where, found: Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join(" ") },
        });
      }
      if (!keep(mediaType)) continue;
      checkMediaContainer(bytes, mediaType, where);
      const name = posix.basename(path);
      const label = labelOf(path, opts.labels ?? "top");
      const meta: RowMeta = { path, name, size: bytes.length, ...(label !== undefined ? { label } : {}) };
      items.push(mediaItem(path, mediaType, bytes, meta));
    } catch (e) {
      const err = asItemError(e, where);
      if (!opts.onItemError) throw err;
      opts.onItemError({ index: i, id: path }, err);
    } finally {
      opts.onProgress?.(i + 1, paths.length);
    }
  }
  return items;
}

/** A relative path that stays inside its folder: no `..`, no absolute or drive paths, no NUL or backslash. */
export function safeRelativePath(p: unknown): string | undefined {
  if (typeof p !== "string" || p === "" || p.includes("\0") || p.includes("\\") || isAbsolute(p) || /^[A-Za-z]:/.test(p)) return undefined;
  const norm = posix.normalize(p);
  if (norm.startsWith("../") || norm === ".." || norm.startsWith("/") || norm === ".") return undefined;
  return norm;
}

function withExtension(path: string, ext: string): string {
  const base = posix.basename(path);
  const dot = base.lastIndexOf(".");
  return `${dot > 0 ? path.slice(0, path.length - (base.length - dot)) : path}.${ext}`;
}

export interface WriteItemFilesOptions {
  /** Replace files that exist. Default false: an existing file fails with E_EXISTS before anything is written. */
  overwrite?: boolean;
  /** Resolves media items that reference an artifact (`payload.ref`). */
  store?: ArtifactStore;
}

/**
 * Writes each item as a file under `dir`: media items as their own bytes (byte-identical to the file they
 * were read from), decoded images as PNG, audio as 16-bit WAV, text as UTF-8 `.txt`. The path is the item's
 * `meta.path` when it is a safe relative path (so a folder read by readFileItems is rebuilt as it was), else
 * the id made file-safe. Returns the paths written.
 */
export async function writeItemFiles(items: readonly Item[], dir: string, opts: WriteItemFilesOptions = {}): Promise<string[]> {
  const top = resolve(dir);
  const planned = new Map<string, number>();
  const files: { path: string; bytes: () => Promise<Uint8Array> }[] = [];
  items.forEach((it, i) => {
    const p = it.payload;
    const ext = p.kind === "media" ? extensionFor(p.mediaType) : p.kind === "image" ? "png" : p.kind === "audio" ? "wav" : "txt";
    const fromMeta = safeRelativePath(it.meta.path);
    let rel = fromMeta ? (p.kind === "media" ? fromMeta : withExtension(fromMeta, ext)) : `${it.id.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^\.+/, "_")}.${ext}`;
    if (planned.has(rel)) rel = withExtension(rel, `${i}.${ext}`);
    planned.set(rel, i);
    const bytes = async (): Promise<Uint8Array> => {
      if (p.kind === "text") return new TextEncoder().encode(p.text);
      if (p.kind === "image") return encodePng(p);
      if (p.kind === "audio") return encodeWav(p);
      if (p.bytes) return p.bytes;
      if (!opts.store) throw new LatentflowError("E_ITEM", `item '${it.id}' references artifact ${p.ref!.artifact}; writing it needs the store`);
      return opts.store.read(p.ref!.artifact, p.ref!.file);
    };
    files.push({ path: join(top, ...rel.split("/")), bytes });
  });
  if (!opts.overwrite) {
    for (const f of files) {
      const there = await lstat(f.path).then(() => true, () => false);
      if (there) throw new LatentflowError("E_EXISTS", `${f.path} exists; nothing was written`, { hint: "export into an empty folder, or pass overwrite (--force)", data: { path: f.path } });
    }
  }
  const written: string[] = [];
  for (const f of files) {
    if (relative(top, f.path).startsWith("..")) continue; // unreachable: paths are made safe above
    await mkdir(dirname(f.path), { recursive: true });
    await writeFile(f.path, await f.bytes());
    written.push(f.path);
  }
  return written;
}
