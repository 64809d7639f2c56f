import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const dist = fileURLToPath(new URL("../../dist/index.js", import.meta.url));
const core = createRequire(import.meta.url).resolve("@latentflow/core");

describe("hnswlib-node is loaded only where HNSW is used", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "lf-native-"));
    // What pnpm 10 leaves when it skips the addon's build: the package is there, its binary is not.
    await writeFile(
      join(dir, "unbuilt.cjs"),
      `const Module = require("node:module");
const load = Module._load;
Module._load = function (request, ...rest) {
  if (request === "hnswlib-node") throw new Error("Could not locate the bindings file. Tried:\\n → build/Release/addon.node");
  return load.call(this, request, ...rest);
};
`,
    );
    // The same for an ESM import of the addon.
    await writeFile(join(dir, "unbuilt-addon.cjs"), `throw new Error("Could not locate the bindings file. Tried:\\n → build/Release/addon.node");\n`);
    await writeFile(
      join(dir, "hooks.mjs"),
      `export async function resolve(specifier, context, next) {
  if (specifier === "hnswlib-node") return { url: ${JSON.stringify(pathToFileURL(join(dir, "unbuilt-addon.cjs")).href)}, shortCircuit: true };
  return next(specifier, context);
}
`,
    );
    await writeFile(join(dir, "register.mjs"), `import { register } from "node:module";\nregister(${JSON.stringify("./hooks.mjs")}, import.meta.url);\n`);
    await writeFile(
      join(dir, "probe.mjs"),
      `const { ExactIndex, HnswIndex } = await import(${JSON.stringify(dist)});
const { createVectorSet, defineSpace } = await import(${JSON.stringify(core)});
const space = defineSpace({ id: "toy", dim: 2, metric: "l2", normalized: false, modality: "other", producer: { name: "t", version: "1" } });
const vs = createVectorSet({ space, data: Float32Array.from([0, 0, 1, 1, 5, 5]), ids: ["a", "b", "c"] });
const exact = new ExactIndex(space);
exact.add(vs);
const hits = (await exact.search(Float32Array.from([0.9, 0.9]), { k: 1 })).map((h) => h.id);
let error;
try { new HnswIndex(space); } catch (e) { error = { code: e.code, message: e.message, hint: e.hint }; }
console.log(JSON.stringify({ hits, error }));
`,
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("imports and runs ExactIndex without the addon; HnswIndex fails with E_NATIVE_ADDON saying how to allow its build", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["-r", join(dir, "unbuilt.cjs"), "--import", join(dir, "register.mjs"), join(dir, "probe.mjs")], { cwd: fileURLToPath(new URL("../..", import.meta.url)) });
    const r = JSON.parse(stdout) as { hits: string[]; error?: { code: string; message: string; hint: string } };
    expect(r.hits).toEqual(["b"]);
    expect(r.error?.code).toBe("E_NATIVE_ADDON");
    expect(r.error?.message).toContain("Could not locate the bindings file");
    expect(r.error?.hint).toContain("pnpm approve-builds");
    expect(r.error?.hint).toContain("onlyBuiltDependencies");
  });
});
