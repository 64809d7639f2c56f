import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";

/**
 * Writes a gzip file whose content is `head`, then `fillBytes` copies of `fill` (a byte), then `tail`: a few
 * hundred kilobytes on disk that inflate to `fillBytes`. Made on the fly by the tests; never committed.
 */
export async function writeGzipBomb(path: string, opts: { head?: Uint8Array; fillBytes: number; fill?: number; tail?: Uint8Array }): Promise<void> {
  const block = Buffer.alloc(1 << 20, opts.fill ?? 0);
  async function* content(): AsyncGenerator<Buffer> {
    if (opts.head) yield Buffer.from(opts.head);
    for (let left = opts.fillBytes; left > 0; left -= block.length) yield left >= block.length ? block : block.subarray(0, left);
    if (opts.tail) yield Buffer.from(opts.tail);
  }
  await pipeline(Readable.from(content()), createGzip({ level: 9 }), createWriteStream(path));
}

/** What a child process running `script` printed as JSON on its last stdout line, plus its exit code. */
export interface ChildResult<T> {
  result: T;
  code: number | null;
  stderr: string;
}

/**
 * Runs an ES module `script` in a fresh Node process and parses the JSON it prints last. The script should end by
 * printing `process.resourceUsage().maxRSS` (KiB) in that JSON, so a test can bound the process's peak memory.
 */
export function runChild<T>(script: string, args: string[] = []): Promise<ChildResult<T>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", script, "--", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      const last = out.trim().split("\n").at(-1) ?? "";
      try {
        resolve({ result: JSON.parse(last) as T, code, stderr: err });
      } catch {
        reject(new Error(`child printed no JSON (exit ${code}):\n${out}\n${err}`));
      }
    });
  });
}
