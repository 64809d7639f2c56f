import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defineSpace } from "../space.js";
import { createVectorSet } from "../vector-set.js";
import { encodeProjector, formatFloat32, writeProjector } from "./projector.js";

const space = defineSpace({
  id: "fixture/3",
  dim: 3,
  metric: "cosine",
  normalized: false,
  modality: "text",
  producer: { name: "fixture", version: "1" },
});

const data = Float32Array.from([0.1, -2, 3.5e-8, 1 / 3, 1e30, 0, -0.75, 123456.789, 2 ** -20]);

describe("encodeProjector", () => {
  it("writes one headerless row of tab-separated numbers per vector, exact to float32", () => {
    const vs = createVectorSet({ space, data, ids: ["a", "b", "c"] });
    const { vectorsTsv } = encodeProjector(vs);
    expect(vectorsTsv.endsWith("\n")).toBe(true);
    const rows = vectorsTsv.trimEnd().split("\n");
    expect(rows).toHaveLength(3);
    expect(rows[0]).toBe("0.1\t-2\t3.5e-8");
    const parsed = rows.flatMap((r) => r.split("\t").map(Number));
    expect(Float32Array.from(parsed)).toEqual(data);
  });

  it("writes a lone id column without a header (the projector's one-column rule)", () => {
    const vs = createVectorSet({ space, data, ids: ["a", "b", "c"] });
    expect(encodeProjector(vs).metadataTsv).toBe("a\nb\nc\n");
    // Meta present but no fields asked for: still one column.
    const withMeta = createVectorSet({ space, data, ids: ["a", "b", "c"], meta: [{ l: 1 }, { l: 2 }, { l: 3 }] });
    expect(encodeProjector(withMeta, { fields: [] }).metadataTsv).toBe("a\nb\nc\n");
  });

  it("writes a header row when there are several columns, cleaning tabs and newlines out of values", () => {
    const vs = createVectorSet({
      space,
      data,
      ids: ["a", "b", "c"],
      meta: [{ label: 7, text: "first\tline\nsecond" }, { text: "only text", extra: { k: [1, 2] } }, { label: null, id: "ignored" }],
    });
    const rows = encodeProjector(vs).metadataTsv.split("\n");
    expect(rows).toEqual(["id\tlabel\ttext\textra", "a\t7\tfirst line second\t", "b\t\tonly text\t{\"k\":[1,2]}", "c\t\t\t", ""]);
    for (const r of rows.slice(0, -1)) expect(r.split("\t")).toHaveLength(4);
  });

  it("uses the requested fields in the requested order", () => {
    const vs = createVectorSet({ space, data, ids: ["a", "b", "c"], meta: [{ x: 1, y: "p" }, { x: 2, y: "q" }, { x: 3, y: "r\r\n" }] });
    expect(encodeProjector(vs, { fields: ["y", "x"] }).metadataTsv).toBe("id\ty\tx\na\tp\t1\nb\tq\t2\nc\tr  \t3\n");
    expect(encodeProjector(vs, { fields: ["x"] }).metadataTsv).toBe("id\tx\na\t1\nb\t2\nc\t3\n");
  });

  it("formats float32 values in their shortest exact form", () => {
    expect(formatFloat32(Math.fround(0.1))).toBe("0.1");
    expect(formatFloat32(Math.fround(1 / 3))).toBe("0.33333334");
    expect(formatFloat32(Math.fround(16777217))).toBe("16777216");
    expect(formatFloat32(0)).toBe("0");
    expect(formatFloat32(Math.fround(3.4028234663852886e38))).toBe("3.4028235e+38");
  });
});

describe("writeProjector", () => {
  it("writes vectors.tsv and metadata.tsv", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "lf-proj-")), "nested");
    const vs = createVectorSet({ space, data, meta: [{ l: "x" }, { l: "y" }, { l: "z" }] });
    const { vectorsPath, metadataPath } = await writeProjector(vs, dir);
    expect(vectorsPath).toBe(join(dir, "vectors.tsv"));
    expect(readFileSync(metadataPath, "utf8")).toBe("id\tl\n0\tx\n1\ty\n2\tz\n");
    expect(readFileSync(vectorsPath, "utf8").split("\n")).toHaveLength(4);
  });
});

describe("encodeProjector with control characters in labels", () => {
  it("writes ESC, NUL and other controls as \\uXXXX text, tabs and newlines as spaces", () => {
    const vs = createVectorSet({
      space: defineSpace({ id: "toy", dim: 1, metric: "l2", normalized: false, modality: "other", producer: { name: "test", version: "1" } }),
      data: Float32Array.from([1, 2]),
      ids: ["a\u0000", "b"],
      meta: [{ label: "\u001b[31mred\tx\ny" }, { label: "c1 \u0085 del \u007f" }],
    });
    const { metadataTsv } = encodeProjector(vs);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the test is that none of them is left
    expect(metadataTsv).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(metadataTsv).toBe("id\tlabel\na\\u0000\t\\u001b[31mred x y\nb\tc1 \\u0085 del \\u007f\n");
  });
});

