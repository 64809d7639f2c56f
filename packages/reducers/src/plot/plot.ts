import { LatentflowError, createMedia, createRng, type Media, type VectorSet } from "@latentflow/core";
import sharp from "sharp";
import type { QualityReport } from "../metrics/quality.js";

/** Qualitative palette (Tableau 10, as matplotlib's tab10): ten classes stay tellable apart. */
export const TABLEAU_10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

/**
 * Classes 11 to 20: each chosen greedily as the colour farthest (CIELAB ΔE) from every earlier one, from
 * white (the background) and from the grey of unlabelled points — at least ΔE 40 from all of them, where
 * Tableau 10's closest pair is 27.7.
 */
export const EXTRA_10 = ["#0000ff", "#ff22ff", "#00ff00", "#110022", "#003300", "#000088", "#00ffcc", "#ffbb88", "#bbdd99", "#ff0077"];

/** Options of {@link renderPlot}. */
export interface PlotOptions {
  title?: string;
  /** Meta field the points are coloured by; rows without it are grey. Default "label". */
  labelField?: string;
  /** Plot area in pixels (square by default). */
  width?: number;
  height?: number;
  /** Point radius in pixels; default from the number of points. */
  pointRadius?: number;
  /** Metric values printed in the caption (e.g. a reducers/evaluate report). */
  metrics?: Partial<QualityReport> | Record<string, unknown>;
  /** Extra caption text. */
  caption?: string;
  /** Seed of the drawing order (shuffled, so no class is always painted on top). Default 0. */
  seed?: string | number;
}

const LEGEND = 170;
const TOP = 48;
const BOTTOM = 56;
const PAD = 16;
const MAX_LEGEND = 30;

/**
 * A label as SVG text. XML 1.0 cannot hold C0 controls (ESC, NUL, …) even as character references, and
 * librsvg refuses the whole file over one, so they are drawn as their Unicode control pictures (␛, ␀);
 * unpaired surrogates become U+FFFD.
 */
export function esc(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;")
    // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, (c) => String.fromCharCode(c === "\u007f" ? 0x2421 : 0x2400 + c.charCodeAt(0)))
    .replace(/[\ufffe\uffff]/g, "\ufffd")
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");
}

/** The colour of the `i`-th distinct label. */
export function colourFor(i: number): string {
  if (i < TABLEAU_10.length) return TABLEAU_10[i]!;
  if (i < TABLEAU_10.length + EXTRA_10.length) return EXTRA_10[i - TABLEAU_10.length]!;
  // Beyond twenty classes: spread hues by the golden angle.
  return `hsl(${Math.round((i * 137.508) % 360)}, 65%, 48%)`;
}

/** Formats a caption from a quality report: "trustworthiness@15 0.951 · continuity@15 0.962 · …". */
export function metricsCaption(m: PlotOptions["metrics"]): string {
  if (!m) return "";
  const r = m as Partial<QualityReport>;
  const parts: string[] = [];
  const f = (v: number) => v.toFixed(3);
  if (typeof r.trustworthiness === "number") parts.push(`trustworthiness@${r.k ?? "?"} ${f(r.trustworthiness)}`);
  if (typeof r.continuity === "number") parts.push(`continuity@${r.k ?? "?"} ${f(r.continuity)}`);
  if (typeof r.preservedNeighbors === "number") parts.push(`kNN preserved ${f(r.preservedNeighbors)}`);
  if (r.knnAccuracy) parts.push(`${r.knnAccuracy.k}-NN accuracy ${f(r.knnAccuracy.accuracy)}`);
  if (r.sampled) parts.push(`(${r.queries} of ${r.n} points sampled)`);
  if (parts.length === 0) {
    for (const [k, v] of Object.entries(m)) if (typeof v === "number") parts.push(`${k} ${Number.isInteger(v) ? v : f(v)}`);
  }
  return parts.join(" · ");
}

/**
 * A 2-D map as a hand-written SVG: one circle per point coloured by its label, a legend, the title and a
 * caption with the metric values.
 */
export function renderSvg(map: VectorSet, opts: PlotOptions = {}): string {
  if (map.space.dim !== 2) {
    throw new LatentflowError("E_DIM_MISMATCH", `plot: expected a 2-D map, found ${map.space.dim} dimensions`, { hint: "reduce to dimensions: 2 first (reducers/umap, reducers/tsne or reducers/pca with components: 2)" });
  }
  const n = map.ids.length;
  if (n === 0) throw new LatentflowError("E_EMPTY", "plot: the map has no points");
  const W = opts.width ?? 800;
  const H = opts.height ?? W;
  const field = opts.labelField ?? "label";
  const labels = map.ids.map((_, i) => map.meta?.[i]?.[field]);
  const distinct = [...new Set(labels.filter((l) => l !== undefined && l !== null))];
  const numeric = distinct.every((l) => typeof l === "number");
  distinct.sort((a, b) => (numeric ? (a as number) - (b as number) : String(a).localeCompare(String(b))));
  const colour = new Map(distinct.map((l, i) => [l, colourFor(i)]));
  let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = map.data[2 * i]!, y = map.data[2 * i + 1]!;
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  }
  // One scale for both axes: distances in the map mean the same horizontally and vertically.
  const span = Math.max(maxX - minX, maxY - minY) || 1;
  const s = (Math.min(W, H) - 2 * PAD) / span;
  const ox = PAD + (W - 2 * PAD - (maxX - minX) * s) / 2;
  const oy = PAD + (H - 2 * PAD - (maxY - minY) * s) / 2;
  const r = opts.pointRadius ?? Math.max(1, Math.min(4, 90 / Math.sqrt(n)));
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const rng = createRng(`plot:${opts.seed ?? 0}`);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  const totalW = W + LEGEND;
  const totalH = TOP + H + BOTTOM;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${totalW}" height="${totalH}" viewBox="0 0 ${totalW} ${totalH}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">`);
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  out.push(`<text x="${PAD}" y="30" font-size="20" font-weight="bold" fill="#222">${esc(opts.title ?? `${map.space.id} (${n} points)`)}</text>`);
  out.push(`<g transform="translate(0 ${TOP})"><rect x="0.5" y="0.5" width="${W - 1}" height="${H - 1}" fill="none" stroke="#ddd"/>`);
  // Points grouped by colour in runs of the shuffled order keep the file small without layering classes.
  out.push(`<g fill-opacity="0.75">`);
  for (let t = 0; t < n; t++) {
    const i = order[t]!;
    const c = colour.get(labels[i] as never) ?? "#999999";
    const x = ox + (map.data[2 * i]! - minX) * s;
    const y = oy + (maxY - map.data[2 * i + 1]!) * s;
    out.push(`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${r.toFixed(2)}" fill="${c}"/>`);
  }
  out.push(`</g></g>`);
  if (distinct.length > 0) {
    out.push(`<g transform="translate(${W + 16} ${TOP + 8})" font-size="14" fill="#222">`);
    out.push(`<text x="0" y="4" font-weight="bold">${esc(field)}</text>`);
    distinct.slice(0, MAX_LEGEND).forEach((l, i) => {
      const y = 26 + i * 22;
      out.push(`<circle cx="8" cy="${y - 5}" r="7" fill="${colour.get(l)}"/><text x="24" y="${y}">${esc(String(l))}</text>`);
    });
    if (distinct.length > MAX_LEGEND) out.push(`<text x="0" y="${26 + MAX_LEGEND * 22}">… ${distinct.length - MAX_LEGEND} more</text>`);
    out.push(`</g>`);
  }
  const caption = [metricsCaption(opts.metrics), opts.caption ?? ""].filter(Boolean).join(" — ");
  if (caption) out.push(`<text x="${PAD}" y="${TOP + H + 32}" font-size="14" fill="#444">${esc(caption)}</text>`);
  out.push(`</svg>`);
  return out.join("\n");
}

/** PNG of an SVG, rendered by sharp (librsvg). */
export async function svgToPng(svg: string): Promise<Uint8Array> {
  const buf = await sharp(Buffer.from(svg), { limitInputPixels: false }).png({ compressionLevel: 9 }).toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

export const PLOT_KIND = "reducers/plot";

/** Renders a 2-D map to PNG and SVG, each a media value (named plot.png / plot.svg; meta.kind `reducers/plot`). */
export async function renderPlot(map: VectorSet, opts: PlotOptions = {}): Promise<{ png: Media; svg: Media }> {
  const svg = renderSvg(map, opts);
  const png = await svgToPng(svg);
  const meta = { kind: PLOT_KIND, space: map.space.id, points: map.ids.length, title: opts.title ?? null, labelField: opts.labelField ?? "label", caption: metricsCaption(opts.metrics) };
  return {
    png: createMedia("image/png", png, { name: "plot.png", meta }),
    svg: createMedia("image/svg+xml", new TextEncoder().encode(svg), { name: "plot.svg", meta }),
  };
}
