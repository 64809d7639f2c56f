import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { LatentflowError } from "../errors.js";
import { encodeJsonl, parseJsonl, readJsonl } from "./jsonl.js";
import { errorOf } from "../testing/errors.js";
import { runChild, writeGzipBomb } from "../__test__/bombs.js";

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const records = [
  { id: "a", text: "hello\nworld", n: 1 },
  { id: "b", nested: { x: [1, 2, { y: null }] }, text: "tab\there \u00e9\u{1F600}" },
  [1, "two", false],
  "just a string",
  42,
  null,
];

describe("encodeJsonl/parseJsonl", () => {
  it("round-trips records, one per line with a trailing newline", () => {
    const text = encodeJsonl(records);
    expect(text.endsWith("\"just a string\"\n42\nnull\n")).toBe(true);
    expect(text.split("\n")).toHaveLength(records.length + 1);
    expect(parseJsonl(text)).toEqual(records);
    expect(encodeJsonl([])).toBe("");
  });

  it("skips blank lines, strips CRLF and a leading byte order mark", () => {
    const text = '\uFEFF{"a":1}\r\n\r\n   \n{"a":2}\r\n\t\n';
    expect(parseJsonl(text)).toEqual([{ a: 1 }, { a: 2 }]);
  });

  it("locates a malformed line by file, line and column", () => {
    const text = ['{"a": 1}', "", '{"a": 2}', '{"a": 3,}', '{"a": 4}'].join("\n");
    const e = errorOf(() => parseJsonl(text, "data/rows.jsonl"));
    expect(e.code).toBe("E_JSONL_PARSE");
    expect(e.location).toEqual({ file: "data/rows.jsonl", line: 4, column: 9 });
    expect(e.message).toContain('{"a": 3,}');
    expect(e.format()).toMatch(/^data\/rows\.jsonl:4:9: E_JSONL_PARSE /);
  });

  it.each([
    ['{"a":tru}', 9],
    ["{'a': 1}", 2],
    ['{"a": 1} {"b": 2}', 10],
    ['{"a": "unterminated', 20],
    ['[1, 2', 6],
    ['{"a": 01}', 8],
    ['{"a": "\\x"}', 9],
    ['{"a": -}', 8],
  ])("gives the column where %s stops being JSON", (line, column) => {
    const e = errorOf(() => parseJsonl(`{"ok": true}\n${line}\n`));
    expect(e.location).toMatchObject({ line: 2, column });
  });

  it("refuses records JSON cannot hold", () => {
    expect(errorOf(() => encodeJsonl([{ a: 1 }, undefined])).code).toBe("E_JSONL_ENCODE");
  });
});

describe("readJsonl", () => {
  const dir = mkdtempSync(join(tmpdir(), "lf-jsonl-"));
  const many = Array.from({ length: 5000 }, (_, i) => ({ id: `r${i}`, v: i * 0.5, tags: i % 3 === 0 ? ["x"] : [] }));

  it("streams a plain file", async () => {
    const p = join(dir, "many.jsonl");
    writeFileSync(p, encodeJsonl(many));
    const got = await collect(readJsonl<{ id: string; v: number }>(p));
    expect(got).toHaveLength(5000);
    expect(got[4999]).toEqual({ id: "r4999", v: 2499.5, tags: [] });
    expect(got).toEqual(many);
  });

  it("gunzips by extension and by magic bytes", async () => {
    const byExt = join(dir, "many.jsonl.gz");
    const byMagic = join(dir, "many-compressed.jsonl");
    writeFileSync(byExt, gzipSync(encodeJsonl(many)));
    writeFileSync(byMagic, gzipSync(encodeJsonl(many)));
    expect(await collect(readJsonl(byExt))).toEqual(many);
    expect(await collect(readJsonl(byMagic))).toEqual(many);
  });

  it("stops at a malformed line with its location, after yielding the good ones", async () => {
    const p = join(dir, "bad.jsonl.gz");
    const lines = encodeJsonl(many.slice(0, 100)).split("\n");
    lines.splice(57, 0, '{"id": "broken", "v": }'); // becomes line 58
    writeFileSync(p, gzipSync(lines.join("\n")));
    const seen: unknown[] = [];
    const err = await (async () => {
      for await (const r of readJsonl(p)) seen.push(r);
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LatentflowError);
    expect((err as LatentflowError).code).toBe("E_JSONL_PARSE");
    expect((err as LatentflowError).location).toEqual({ file: p, line: 58, column: 23 });
    expect(seen).toHaveLength(57);
  });

  it("reports a corrupt gzip stream as E_JSONL_PARSE", async () => {
    const p = join(dir, "cut.jsonl.gz");
    const gz = gzipSync(encodeJsonl(many));
    writeFileSync(p, gz.subarray(0, gz.length / 2));
    const err = await collect(readJsonl(p)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LatentflowError);
    expect((err as LatentflowError).code).toBe("E_JSONL_PARSE");
    expect((err as LatentflowError).message).toContain("gzip");
  });
});

describe("readJsonl line-length bound", () => {
  const distIo = new URL("../../dist/io/index.js", import.meta.url).href;
  const MB = 1024 * 1024;
  const dir = mkdtempSync(join(tmpdir(), "lf-jsonl-bomb-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("stops at a 512 MiB line (gzip bomb) with its line number and the limit, in under 300 MB of RSS", async () => {
    const file = join(dir, "bomb.jsonl.gz");
    await writeGzipBomb(file, { head: Buffer.from('{"a":1}\n{"a":2}\n\n{"a":3}\n{"t":"'), fillBytes: 512 * MB, fill: 0x61, tail: Buffer.from('"}\n') });
    const { result } = await runChild<{ n: number; code?: string; message?: string; line?: number; maxRSS: number }>(
      `const { readJsonl } = await import(${JSON.stringify(distIo)});
       const out = { n: 0 };
       try { for await (const r of readJsonl(process.argv[1])) out.n++; }
       catch (e) { out.code = e.code; out.message = e.message; out.line = e.location?.line; }
       out.maxRSS = process.resourceUsage().maxRSS;
       console.log(JSON.stringify(out));`,
      [file],
    );
    expect(result.n).toBe(3); // the lines before it were read
    expect(result.code).toBe("E_JSONL_LINE_TOO_LONG");
    expect(result.line).toBe(5);
    expect(result.message).toContain(`line 5 is longer than the limit of ${64 * MB} bytes`);
    expect(result.maxRSS).toBeLessThan(300 * 1024);
  }, 60_000);

  it("accepts a line up to maxLineBytes and refuses one byte more, across chunk boundaries", async () => {
    const long = `{"t":"${"é".repeat(300_000)}"}`; // 600,008 bytes of UTF-8, split over many chunks
    const file = join(dir, "long.jsonl");
    writeFileSync(file, `{"a":1}\r\n${long}\r\n{"b":2}`);
    const bytes = Buffer.byteLength(long) + 1; // the \r belongs to the line until it is stripped
    const ok = await collect(readJsonl<{ t?: string }>(file, { maxLineBytes: bytes }));
    expect(ok).toHaveLength(3);
    expect(ok[1]!.t).toBe("é".repeat(300_000));
    const e = await collect(readJsonl(file, { maxLineBytes: bytes - 1 })).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LatentflowError);
    expect((e as LatentflowError).code).toBe("E_JSONL_LINE_TOO_LONG");
    expect((e as LatentflowError).location).toMatchObject({ file, line: 2 });
    expect((e as LatentflowError).hint).toMatch(/maxLineBytes/);
  });
});
