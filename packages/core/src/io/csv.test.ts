import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { LatentflowError } from "../errors.js";
import { castCsvField, parseCsv, readCsvFile } from "./csv.js";
import { errorOf } from "../testing/errors.js";
import { writeGzipBomb } from "../__test__/bombs.js";

const tricky = [
  "name,quote,score,zip",
  '"Smith, Jane","She said ""hi"", then left",3.5,02139',
  '"multi',
  'line",plain,-2,10001',
  'Émile,"",1e3,',
].join("\r\n");

describe("parseCsv", () => {
  it("handles quoted delimiters, doubled quotes, embedded newlines and CRLF", () => {
    expect(parseCsv(tricky, { cast: false })).toEqual([
      { name: "Smith, Jane", quote: 'She said "hi", then left', score: "3.5", zip: "02139" },
      { name: "multi\r\nline", quote: "plain", score: "-2", zip: "10001" },
      { name: "Émile", quote: "", score: "1e3", zip: "" },
    ]);
  });

  it("casts numeric-looking fields by default, keeping codes with leading zeros as text", () => {
    const rows = parseCsv(tricky);
    expect(rows.map((r) => r.score)).toEqual([3.5, -2, 1000]);
    expect(rows.map((r) => r.zip)).toEqual(["02139", 10001, ""]);
    expect(rows[0]!.name).toBe("Smith, Jane");
  });

  it("casts only what is a plain decimal number", () => {
    expect(castCsvField("42")).toBe(42);
    expect(castCsvField(" -0.25 ")).toBe(-0.25);
    expect(castCsvField(".5")).toBe(0.5);
    expect(castCsvField("0")).toBe(0);
    expect(castCsvField("0.01")).toBe(0.01);
    expect(castCsvField("6.02e23")).toBe(6.02e23);
    for (const s of ["", "007", "NaN", "Infinity", "0x1f", "1,000", "12abc", "--1", "12345678901234567890", "1.2.3"]) {
      expect(castCsvField(s), s).toBe(s);
    }
  });

  it("returns arrays without a header, and honours the delimiter", () => {
    expect(parseCsv("a\tb c\t3\n\"x\ty\"\tz\t4.5\n", { header: false, delimiter: "\t" })).toEqual([
      ["a", "b c", 3],
      ["x\ty", "z", 4.5],
    ]);
  });

  it("skips empty lines", () => {
    expect(parseCsv("a,b\n\n1,2\n\n3,4\n")).toEqual([
      { a: 1, b: 2 },
      { a: 3, b: 4 },
    ]);
  });

  it("reports a row with the wrong number of fields at its line", () => {
    const e = errorOf(() => parseCsv("a,b\n1,2\n3\n4,5\n", { file: "points.csv" }));
    expect(e.code).toBe("E_CSV_PARSE");
    expect(e.location).toEqual({ file: "points.csv", line: 3, column: 1 });
    expect(e.format()).toMatch(/^points\.csv:3:1: E_CSV_PARSE/);
    expect(e.hint).toContain("number of fields");
  });

  it("reports unclosed and misplaced quotes", () => {
    const unclosed = errorOf(() => parseCsv('a,b\n"open,1\n2,3\n', { file: "q.csv" }));
    expect(unclosed.code).toBe("E_CSV_PARSE");
    expect(unclosed.data).toMatchObject({ csvCode: "CSV_QUOTE_NOT_CLOSED" });
    expect(unclosed.location?.file).toBe("q.csv");

    const misplaced = errorOf(() => parseCsv('a,b\n1,2\n"x"y,3\n'));
    expect(misplaced.code).toBe("E_CSV_PARSE");
    expect(misplaced.location).toEqual({ file: "<csv>", line: 3, column: 1 });
  });

  it("refuses duplicate column names instead of dropping a column", () => {
    const e = errorOf(() => parseCsv("id,label,label\n1,a,b\n", { file: "dup.csv" }));
    expect(e.code).toBe("E_CSV_PARSE");
    expect(e.message).toContain("'label' twice");
    expect(e.location).toEqual({ file: "dup.csv", line: 1, column: 1 });
  });

  it("reads what Python's csv module writes", () => {
    const dir = mkdtempSync(join(tmpdir(), "lf-csv-"));
    const path = join(dir, "py.csv");
    const rows = [
      ["id", "text", "value"],
      ["1", 'comma, "quotes" and\nnewline', "0.125"],
      ["2", "  spaced  ", "-7"],
      ["3", "", "x"],
    ];
    try {
      execFileSync("python3", ["-c", "import csv, json, sys\nw = csv.writer(open(sys.argv[1], 'w', newline=''))\nw.writerows(json.loads(sys.argv[2]))", path, JSON.stringify(rows)]);
    } catch (e) {
      throw new Error(`this test needs python3 on PATH to write a reference CSV: ${(e as Error).message}`);
    }
    expect(parseCsv(readFileSync(path, "utf8"))).toEqual([
      { id: 1, text: 'comma, "quotes" and\nnewline', value: 0.125 },
      { id: 2, text: "  spaced  ", value: -7 },
      { id: 3, text: "", value: "x" },
    ]);
  });
});

describe("readCsvFile", () => {
  const dir = mkdtempSync(join(tmpdir(), "lf-csv-"));

  it("reads plain, gzipped and tab-separated files", async () => {
    writeFileSync(join(dir, "t.csv"), tricky);
    writeFileSync(join(dir, "t.csv.gz"), gzipSync(tricky));
    writeFileSync(join(dir, "t.tsv.gz"), gzipSync("a\tb\n1\tx,y\n"));
    const plain = await readCsvFile(join(dir, "t.csv"));
    expect(plain).toHaveLength(3);
    expect(await readCsvFile(join(dir, "t.csv.gz"))).toEqual(plain);
    expect(await readCsvFile(join(dir, "t.tsv.gz"))).toEqual([{ a: 1, b: "x,y" }]);
  });

  it("names the file in errors", async () => {
    const p = join(dir, "bad.csv");
    writeFileSync(p, "a,b\n1,2,3\n");
    const e = await readCsvFile(p).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LatentflowError);
    expect((e as LatentflowError).location).toEqual({ file: p, line: 2, column: 1 });
  });
});

describe("readCsvFile size bound", () => {
  it("stops a gzip stream at maxBytes with E_TOO_LARGE, and reads the same file when the limit allows it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lf-csv-bomb-"));
    try {
      const file = join(dir, "bomb.csv.gz");
      // A header and 64 MiB of one field; about 64 KB on disk.
      await writeGzipBomb(file, { head: Buffer.from("a\n"), fillBytes: 64 * 1024 * 1024, fill: 0x31 });
      const e = await readCsvFile(file, { maxBytes: 1024 * 1024 }).catch((x: unknown) => x);
      expect(e).toMatchObject({ code: "E_TOO_LARGE", message: /expected at most 1048576 bytes after gunzipping, found more/, hint: /maxBytes/ });
      writeFileSync(join(dir, "small.csv.gz"), gzipSync("a,b\n1,2\n"));
      expect(await readCsvFile(join(dir, "small.csv.gz"), { maxBytes: 8 })).toEqual([{ a: 1, b: 2 }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
