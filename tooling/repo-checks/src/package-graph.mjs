#!/usr/bin/env node
// The workspace's package graph from its package.json files: every @latentflow dependency (runtime, peer or
// dev) is an arrow. Fails on a cycle between packages, and on core depending on any package of ours but the
// shared tsconfig. (Source imports are checked by dependency-cruiser: .dependency-cruiser.cjs.)
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** name → the @latentflow packages it depends on, for the packages under `root`'s workspace folders. */
export function readGraph(root, folders = ["packages", "apps", "tooling", "examples"]) {
  const graph = new Map();
  for (const f of folders) {
    const dirs = existsSync(join(root, f, "package.json")) ? [join(root, f)] : existsSync(join(root, f)) ? readdirSync(join(root, f)).map((d) => join(root, f, d)) : [];
    for (const dir of dirs) {
      const file = join(dir, "package.json");
      if (!existsSync(file)) continue;
      const p = JSON.parse(readFileSync(file, "utf8"));
      const deps = new Set(Object.keys({ ...p.dependencies, ...p.peerDependencies, ...p.devDependencies }).filter((d) => d.startsWith("@latentflow/")));
      graph.set(p.name, deps);
    }
  }
  return graph;
}

/** Problems of a graph: cycles (as name → … → name) and core's forbidden arrows. */
export function graphProblems(graph) {
  const problems = [];
  for (const d of graph.get("@latentflow/core") ?? []) if (d !== "@latentflow/tsconfig") problems.push(`@latentflow/core depends on ${d}: core depends on no package of ours`);
  const state = new Map();
  const stack = [];
  // Iterative depth-first search, colouring nodes: a grey node met again closes a cycle.
  for (const start of graph.keys()) {
    if (state.get(start)) continue;
    const work = [[start, [...(graph.get(start) ?? [])], 0]];
    state.set(start, 1);
    stack.push(start);
    while (work.length) {
      const top = work[work.length - 1];
      const [node, next] = top;
      if (top[2] >= next.length) {
        state.set(node, 2);
        stack.pop();
        work.pop();
        continue;
      }
      const d = next[top[2]++];
      if (!graph.has(d)) continue;
      if (state.get(d) === 1) problems.push(`cycle: ${[...stack.slice(stack.indexOf(d)), d].join(" → ")}`);
      else if (!state.get(d)) {
        state.set(d, 1);
        stack.push(d);
        work.push([d, [...(graph.get(d) ?? [])], 0]);
      }
    }
  }
  return problems;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL("../../..", import.meta.url));
  const problems = graphProblems(readGraph(root));
  for (const p of problems) console.error(p);
  if (problems.length) process.exit(1);
  console.log("package graph: no cycles, core depends on no package of ours");
}
