import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { LatentflowError } from "../errors.js";
import { encodeJsonl, parseJsonl, readJsonl } from "./jsonl.js";
import { errorOf } from "../testing/errors.js";

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
