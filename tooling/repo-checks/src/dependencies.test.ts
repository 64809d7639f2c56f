import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { graphProblems, readGraph } from "./package-graph.mjs";

const root = fileURLToPath(new URL("../../..", import.meta.url));
const depcruise = fileURLToPath(new URL("../../../node_modules/.bin/depcruise", import.meta.url));
const config = fileURLToPath(new URL("../../../.dependency-cruiser.cjs", import.meta.url));
const fixture = fileURLToPath(new URL("../fixtures/forbidden", import.meta.url));

describe("dependency rules", () => {
  it("the workspace's package graph has no cycle, and core depends on no package of ours", () => {
    const graph = readGraph(root);
    expect(graph.get("@latentflow/core")).toBeDefined();
    expect(graph.get("@latentflow/reducers")?.has("@latentflow/core")).toBe(true);
    expect(graphProblems(graph)).toEqual([]);
  });

  it("the graph check names a cycle and a dependency of core", () => {
    const g = new Map([
      ["@latentflow/core", new Set(["@latentflow/reducers"])],
      ["@latentflow/reducers", new Set(["@latentflow/indexers"])],
      ["@latentflow/indexers", new Set(["@latentflow/reducers"])],
    ]);
    expect(graphProblems(g)).toEqual(["@latentflow/core depends on @latentflow/reducers: core depends on no package of ours", "cycle: @latentflow/reducers → @latentflow/indexers → @latentflow/reducers"]);
  });

  it("dependency-cruiser fails on the forbidden source imports of a fixture (core → plugin, encoder → encoder)", () => {
    const r = spawnSync(depcruise, ["packages", "--config", config, "--output-type", "err"], { cwd: fixture, encoding: "utf8" });
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toContain("core-depends-on-nothing-of-ours");
    expect(r.stdout + r.stderr).toContain("encoders-are-independent");
  }, 60_000);

  it("dependency-cruiser finds no forbidden arrow in the repository", () => {
    const r = spawnSync(depcruise, ["packages", "apps", "tooling", "--config", config, "--output-type", "err"], { cwd: root, encoding: "utf8" });
    expect(r.stdout + r.stderr).toContain("no dependency violations found");
    expect(r.status).toBe(0);
  }, 120_000);
});
