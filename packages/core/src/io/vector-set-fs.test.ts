import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LatentflowError } from "../errors.js";
import { canonicalJson } from "../hash.js";
import { defineSpace } from "../space.js";
import { createVectorSet, type VectorSet } from "../vector-set.js";
import { encodeNpy } from "./npy.js";
import { decodeVectorSetFiles, encodeVectorSetFiles, readVectorSet, writeVectorSet } from "./vector-set-fs.js";
import { errorOf } from "../testing/errors.js";

/** Runs a Python snippet with numpy; fails (never skips) when python3 or numpy is missing. */
function python(script: string, args: string[] = []): string {
  try {
    execFileSync("python3", ["-c", "import numpy"], { stdio: "pipe" });
  } catch (e) {
    throw new Error(
      `this test checks that numpy reads our files and needs python3 with numpy on PATH (pip install "numpy>=2"); ` +
        `running 'python3 -c "import numpy"' failed: ${(e as Error).message}`,
    );
  }
  return execFileSync("python3", ["-c", script, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

const space = defineSpace({
  id: "fixture/4",
  dim: 4,
  metric: "cosine",
  normalized: true,
  modality: "text",
  producer: { name: "fixture-encoder", version: "2.1.0", params: { pooling: "mean", layers: [11, 12] } },
});

function fixture(): VectorSet {
  const data = Float32Array.from({ length: 5 * 4 }, (_, i) => Math.sin(i + 1) / (i + 1));
  return createVectorSet({
    space,
    data,
    ids: ["doc-1", "doc-2", "naïve ☃", "doc\n4", "5"],
    meta: [{ label: 3, text: "hello" }, { text: "world", label: 1 }, {}, { tags: ["a", "b"], nested: { z: 1, a: null } }, { label: 0 }],
  });
}

describe("encodeVectorSetFiles/decodeVectorSetFiles", () => {
  it("round-trips ids, vectors, meta and space", () => {
    const vs = fixture();
    const files = encodeVectorSetFiles(vs);
    expect(Object.keys(files)).toEqual(["vectors.npy", "rows.jsonl", "space.json"]);
    const back = decodeVectorSetFiles(files);
    expect(back.space).toEqual(vs.space);
    expect(back.ids).toEqual(vs.ids);
    expect(back.data).toEqual(vs.data);
    expect(back.meta).toEqual(vs.meta);
  });

  it("writes rows.jsonl as {id, ...meta} lines and space.json as canonical JSON", () => {
    const files = encodeVectorSetFiles(fixture());
    const rows = new TextDecoder().decode(files["rows.jsonl"]).split("\n");
    expect(rows[0]).toBe('{"id":"doc-1","label":3,"text":"hello"}');
    expect(rows[1]).toBe('{"id":"doc-2","label":1,"text":"world"}');
    expect(rows[2]).toBe('{"id":"naïve ☃"}');
    expect(rows[3]).toBe('{"id":"doc\\n4","nested":{"a":null,"z":1},"tags":["a","b"]}');
    expect(rows).toHaveLength(6);
    expect(new TextDecoder().decode(files["space.json"])).toBe(canonicalJson(space));
  });

  it("is deterministic: equal sets give equal bytes, whatever the order meta keys were added in", () => {
    const a = encodeVectorSetFiles(fixture());
    const b = encodeVectorSetFiles(fixture());
    const reordered = fixture();
    reordered.meta = reordered.meta!.map((m) => Object.fromEntries(Object.entries(m).reverse()));
    const c = encodeVectorSetFiles(reordered);
    const again = encodeVectorSetFiles(decodeVectorSetFiles(a));
    for (const name of Object.keys(a)) {
      expect(Buffer.from(b[name]!).equals(Buffer.from(a[name]!)), name).toBe(true);
      expect(Buffer.from(c[name]!).equals(Buffer.from(a[name]!)), name).toBe(true);
      expect(Buffer.from(again[name]!).equals(Buffer.from(a[name]!)), name).toBe(true);
    }
  });

  it("encodes a subarray view and a set without meta", () => {
    const full = fixture();
    const view: VectorSet = { space, ids: full.ids.slice(1, 3), data: full.data.subarray(4, 12) };
    const back = decodeVectorSetFiles(encodeVectorSetFiles(view));
    expect(back.ids).toEqual(["doc-2", "naïve ☃"]);
    expect(back.data).toEqual(full.data.slice(4, 12));
    expect(back.meta).toBeUndefined();

    const empty = decodeVectorSetFiles(encodeVectorSetFiles(createVectorSet({ space, data: new Float32Array(0) })));
    expect(empty.ids).toEqual([]);
    expect(empty.data.length).toBe(0);
  });

  it("refuses a meta field named id, which would collide with the row id", () => {
    const vs = createVectorSet({ space, data: new Float32Array(4), ids: ["x"], meta: [{ id: "other" }] });
    expect(errorOf(() => encodeVectorSetFiles(vs)).code).toBe("E_META_RESERVED");
  });

  it("reports row counts and dimensions that disagree, with both numbers", () => {
    const files = encodeVectorSetFiles(fixture());
    const rows = new TextDecoder().decode(files["rows.jsonl"]);
    const short = { ...files, "rows.jsonl": new TextEncoder().encode(rows.split("\n").slice(0, 3).join("\n")) };
    const e = errorOf(() => decodeVectorSetFiles(short));
    expect(e.code).toBe("E_SHAPE");
    expect(e.message).toContain("vectors.npy has 5 rows, rows.jsonl has 3");

    const wideSpace = { ...files, "space.json": new TextEncoder().encode(canonicalJson({ ...space, dim: 5 })) };
    const d = errorOf(() => decodeVectorSetFiles(wideSpace));
    expect(d.code).toBe("E_SHAPE");
    expect(d.message).toContain("dim 5");
    expect(d.message).toContain("[5, 4]");

    const flat = { ...files, "vectors.npy": encodeNpy({ dtype: "float32", shape: [20], data: new Float32Array(20) }) };
    expect(errorOf(() => decodeVectorSetFiles(flat)).code).toBe("E_SHAPE");
  });

  it("reports missing files, bad rows and bad spaces", () => {
    const files = encodeVectorSetFiles(fixture());
    const { "space.json": _space, ...noSpace } = files;
    const missing = errorOf(() => decodeVectorSetFiles(noSpace));
    expect(missing.code).toBe("E_VECTOR_SET_FORMAT");
    expect(missing.message).toContain("'space.json'");

    const badLine = { ...files, "rows.jsonl": new TextEncoder().encode('{"id":"a"}\n{"id": b}\n') };
    const parse = errorOf(() => decodeVectorSetFiles(badLine));
    expect(parse.code).toBe("E_JSONL_PARSE");
    expect(parse.location).toEqual({ file: "rows.jsonl", line: 2, column: 8 });

    const noId = { ...files, "rows.jsonl": new TextEncoder().encode('{"id":"a"}\n{"name":"b"}\n{"id":"c"}\n{"id":"d"}\n{"id":"e"}\n') };
    expect(errorOf(() => decodeVectorSetFiles(noId)).message).toContain("no id");

    const badSpace = { ...files, "space.json": new TextEncoder().encode(canonicalJson({ ...space, metric: "manhattan" })) };
    expect(errorOf(() => decodeVectorSetFiles(badSpace)).code).toBe("E_SPACE");
  });
});

describe("writeVectorSet/readVectorSet", () => {
  it("round-trips through a directory that numpy can read without Latentflow", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "lf-vs-")), "set");
    const vs = fixture();
    await writeVectorSet(dir, vs);
    const back = await readVectorSet(dir);
    expect(back.ids).toEqual(vs.ids);
    expect(back.data).toEqual(vs.data);
    expect(back.meta).toEqual(vs.meta);

    const out = python(
      `
import sys, json, numpy as np
d = sys.argv[1]
v = np.load(f"{d}/vectors.npy", allow_pickle=False)
rows = [json.loads(l) for l in open(f"{d}/rows.jsonl", encoding="utf-8")]
space = json.load(open(f"{d}/space.json", encoding="utf-8"))
print(json.dumps({"dtype": v.dtype.str, "shape": list(v.shape), "values": v.ravel().tolist(), "ids": [r["id"] for r in rows], "labels": [r.get("label") for r in rows], "dim": space["dim"]}))
`,
      [dir],
    );
    const res = JSON.parse(out) as { dtype: string; shape: number[]; values: number[]; ids: string[]; labels: unknown[]; dim: number };
    expect(res.dtype).toBe("<f4");
    expect(res.shape).toEqual([5, 4]);
    expect(res.values).toEqual(Array.from(vs.data));
    expect(res.ids).toEqual(vs.ids);
    expect(res.labels).toEqual([3, 1, null, null, 0]);
    expect(res.dim).toBe(4);
  });

  it("reads a directory made by hand with numpy (float64 vectors, integer ids)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lf-vs-"));
    python(`import sys, numpy as np\nnp.save(sys.argv[1] + "/vectors.npy", np.arange(8).reshape(2, 4) / 4)`, [dir]);
    writeFileSync(join(dir, "rows.jsonl"), '{"id": 10, "label": "cat"}\n{"id": 11, "label": "dog"}\n');
    writeFileSync(join(dir, "space.json"), JSON.stringify(space, null, 2));
    const vs = await readVectorSet(dir);
    expect(vs.ids).toEqual(["10", "11"]);
    expect(Array.from(vs.data)).toEqual([0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75]);
    expect(vs.meta).toEqual([{ label: "cat" }, { label: "dog" }]);
    expect(vs.space).toEqual(space);
  });

  it("names the missing file and directory", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lf-vs-"));
    await writeVectorSet(dir, fixture());
    writeFileSync(join(dir, "rows.jsonl"), readFileSync(join(dir, "rows.jsonl")));
    const e = await readVectorSet(join(dir, "nope")).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LatentflowError);
    expect((e as LatentflowError).code).toBe("E_VECTOR_SET_FORMAT");
    expect((e as LatentflowError).message).toContain("nope");
  });
});
