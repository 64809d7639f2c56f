import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FsArtifactStore, LocalExecutor, PluginRegistry, corePlugin, createVectorSet, defineSpace, definePlugin, loadArtifactValue, loadPipelineText, type Media, type ModelArtifact } from "@latentflow/core";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluateStep } from "../metrics/step.js";
import { Pca } from "../pca/pca.js";
import { pcaStep } from "../pca/step.js";
import { mnist, mnistDir } from "../test/data.js";
import { TABLEAU_10, colourFor, renderPlot, renderSvg } from "./plot.js";
import { plotStep } from "./step.js";

// The steps under test in a plugin of their own (the package's plugin object is assembled in plugin.ts).
const reducers = definePlugin({ name: "reducers", version: "0.1.0", steps: [pcaStep, evaluateStep, plotStep] });
const registry = new PluginRegistry([corePlugin, reducers]);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "latentflow-plot-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("plot", () => {
  it("draws every point, a legend of ten Tableau colours, title and caption; PNG has the size of the SVG", async () => {
    const digits = mnist("t10k", 0, 2000);
    const map = await new Pca({ components: 2 }).fitTransform(digits);
    const svg = renderSvg(map, { title: "MNIST <PCA>", metrics: { k: 15, trustworthiness: 0.75, knnAccuracy: { k: 10, accuracy: 0.4, labelField: "label" } } });
    expect(svg.match(/<circle /g)!.length).toBe(2000 + 10);
    for (const c of TABLEAU_10) expect(svg).toContain(`fill="${c}"`);
    expect(svg).toContain("MNIST &lt;PCA&gt;");
    expect(svg).toContain("trustworthiness@15 0.750 · 10-NN accuracy 0.400");
    const art = await renderPlot(map, { title: "MNIST test digits, PCA → 2-D" });
    expect([art.png.mediaType, art.png.name, art.svg.mediaType, art.svg.name]).toEqual(["image/png", "plot.png", "image/svg+xml", "plot.svg"]);
    const png = await sharp(art.png.bytes).metadata();
    expect(png.format).toBe("png");
    expect([png.width, png.height]).toEqual([800 + 170, 48 + 800 + 56]);
    // Same input, same bytes: plots are content-addressed artifacts too.
    expect(Buffer.from((await renderPlot(map, { title: "MNIST test digits, PCA → 2-D" })).svg.bytes).equals(Buffer.from(art.svg.bytes))).toBe(true);
    await expect(renderPlot({ ...digits, data: digits.data.subarray(0, 3 * 784) } as never)).rejects.toMatchObject({ code: "E_DIM_MISMATCH" });
  });

  it("pipeline: read-idx → reducers/pca → reducers/evaluate → reducers/plot", async () => {
    const text = [
      "version: 1",
      "name: pca-plot",
      "steps:",
      "  digits: { uses: core/read-idx, with: { images: t10k-images-idx3-ubyte, labels: t10k-labels-idx1-ubyte, limit: 3000, scale: 255 } }",
      "  pca: { uses: reducers/pca, in: { vectors: digits }, with: { components: 2 } }",
      "  quality: { uses: reducers/evaluate, in: { vectors: digits, map: pca.vectors }, with: { k: 15, sample: 1000 } }",
      "  plot: { uses: reducers/plot, in: { map: pca.vectors, report: quality }, with: { title: 'MNIST, PCA to 2-D' } }",
    ].join("\n");
    const store = new FsArtifactStore(join(dir, "store"));
    const rec = await new LocalExecutor().run(loadPipelineText(text, join(dir, "p.yaml"), registry, mnistDir), { store });
    expect(rec.status, JSON.stringify(rec.error)).toBe("succeeded");
    const load = async (step: string, port: string) => loadArtifactValue(store, (await store.stat(rec.steps[step]!.outputs[port]!.key))!);
    const report = (await load("quality", "report")) as { trustworthiness: number; queries: number; sampled: boolean; knnAccuracy: { accuracy: number } };
    expect(report.queries).toBe(1000);
    expect(report.sampled).toBe(true);
    expect(report.trustworthiness).toBeGreaterThan(0.6);
    const model = (await load("pca", "model")) as ModelArtifact;
    expect(model.kind).toBe("reducers/pca");
    expect(Pca.load(model).explainedVarianceRatio.length).toBe(2);
    // The plot is a media artifact: its type and bytes, stored as media.png / media.svg.
    expect(rec.steps.plot!.outputs.plot!.type).toBe("media");
    const plot = (await load("plot", "plot")) as Media;
    const svg = (await load("plot", "svg")) as Media;
    expect([plot.mediaType, svg.mediaType]).toEqual(["image/png", "image/svg+xml"]);
    expect((await sharp(plot.bytes).metadata()).format).toBe("png");
    expect(new TextDecoder().decode(svg.bytes)).toContain(`trustworthiness@15 ${report.trustworthiness.toFixed(3)}`);
    if (process.env.LATENTFLOW_PLOT_OUT) await writeFile(process.env.LATENTFLOW_PLOT_OUT, plot.bytes);
  });

  it("renders labels with control characters (ESC, NUL) as text: librsvg accepts the SVG and the PNG renders", async () => {
    const labels = ["\u001b[31mred\u001b[0m", "nul\u0000byte", "<b>&amp;'\"", "lone \ud800 surrogate"];
    const map = createVectorSet({
      space: defineSpace({ id: "toy", dim: 2, metric: "l2", normalized: false, modality: "other", producer: { name: "test", version: "1" } }),
      data: Float32Array.from([0, 0, 1, 0, 0, 1, 1, 1]),
      meta: labels.map((label) => ({ label })),
    });
    const plot = await renderPlot(map, { title: "title \u0007 bell" });
    const svg = new TextDecoder().decode(plot.svg.bytes);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the test is that none of them is left
    expect(svg).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/);
    expect(svg).toContain("␛[31mred␛[0m");
    expect(svg).toContain("nul␀byte");
    expect(svg).toContain("&lt;b&gt;&amp;amp;&#39;&quot;");
    expect(svg).toContain("lone \ufffd surrogate");
    expect(svg).toContain("title ␇ bell");
    const png = await sharp(Buffer.from(plot.png.bytes)).metadata();
    expect(png.format).toBe("png");
  });

  it("gives classes 11 to 20 colours at least as far (CIELAB ΔE) from every earlier one as Tableau 10's closest pair", () => {
    const lab = (hex: string): [number, number, number] => {
      const [r, g, b] = [1, 3, 5].map((i) => {
        const c = Number.parseInt(hex.slice(i, i + 2), 16) / 255;
        return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
      }) as [number, number, number];
      const f = (t: number) => (t > 0.008856 ? Math.cbrt(t) : 7.787 * t + 16 / 116);
      const x = f((0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047);
      const y = f(0.2126 * r + 0.7152 * g + 0.0722 * b);
      const z = f((0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883);
      return [116 * y - 16, 500 * (x - y), 200 * (y - z)];
    };
    const dE = (a: string, b: string) => Math.hypot(...lab(a).map((v, i) => v - lab(b)[i]!));
    let tableauMin = Infinity;
    for (let i = 0; i < 10; i++) for (let j = 0; j < i; j++) tableauMin = Math.min(tableauMin, dE(TABLEAU_10[i]!, TABLEAU_10[j]!));
    for (let i = 10; i < 20; i++) {
      const c = colourFor(i);
      expect(c).toMatch(/^#[0-9a-f]{6}$/);
      for (const other of [...Array.from({ length: i }, (_, j) => colourFor(j)), "#ffffff", "#999999"]) expect(dE(c, other)).toBeGreaterThan(tableauMin);
    }
  });
});
