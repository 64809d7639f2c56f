import { defineStep } from "@latentflow/core";
import { z } from "zod";
import type { QualityReport } from "../metrics/quality.js";
import { renderPlot } from "./plot.js";

/**
 * `reducers/plot`: a 2-D map drawn as a PNG and an SVG, each a media artifact (`latentflow export <run>
 * <step>.plot --to dir/` writes plot.png; `.svg` plot.svg).
 */
export const plotStep = defineStep({
  name: "plot",
  description: "Render a 2-D map to SVG and PNG: points coloured by a label field, legend, title, metric values in the caption.",
  inputs: {
    map: { type: "vectors", description: "a 2-D map (e.g. from reducers/umap)" },
    report: { type: "json", optional: true, description: "a reducers/evaluate report, printed in the caption" },
  },
  outputs: {
    plot: { type: "media", description: "the map as a PNG (image/png, plot.png)" },
    svg: { type: "media", description: "the map as an SVG (image/svg+xml, plot.svg): every label rendered as text" },
  },
  params: z.strictObject({
    title: z.string().optional(),
    labelField: z.string().default("label"),
    width: z.number().int().min(100).max(8000).default(800),
    height: z.number().int().min(100).max(8000).optional(),
    pointRadius: z.number().positive().max(100).optional(),
    caption: z.string().optional(),
  }),
  async run(_ctx, { map, report }, p) {
    const plot = await renderPlot(map, {
      labelField: p.labelField,
      width: p.width,
      ...(p.title !== undefined ? { title: p.title } : {}),
      ...(p.height !== undefined ? { height: p.height } : {}),
      ...(p.pointRadius !== undefined ? { pointRadius: p.pointRadius } : {}),
      ...(p.caption !== undefined ? { caption: p.caption } : {}),
      ...(report ? { metrics: report as Partial<QualityReport> } : {}),
    });
    return { plot: plot.png, svg: plot.svg };
  },
});
