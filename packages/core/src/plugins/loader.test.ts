import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LatentflowError } from "../errors.js";
import { discoverPlugins, findPlugin, loadPlugins } from "./loader.js";
import { codeOf } from "../testing/errors.js";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..");

/** A package that leaves a file `imported` in its folder when any of its code runs. */
async function pkg(nm: string, name: string, json: Record<string, unknown>, pluginName = name.replace(/^@[^/]+\//, "")): Promise<string> {
  const dir = join(nm, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "package.json"), JSON.stringify({ name, version: "1.2.3", type: "module", main: "./index.js", ...json }));
  const body = `import { writeFileSync } from "node:fs";\nwriteFileSync(new URL("./imported", import.meta.url), "ran");\nexport const plugin = { name: ${JSON.stringify(pluginName)}, version: "1.2.3", steps: [] };\n`;
  await writeFile(join(dir, "index.js"), body);
  await writeFile(join(dir, "plugin.js"), body);
  return dir;
}

describe("plugin loader", () => {
  let root: string;
  let project: string;
  let nm: string;
  let hostile: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "lf-plugins-"));
    project = join(root, "project");
    nm = join(project, "node_modules");
    await pkg(nm, "@acme/good", { latentflow: { plugin: "./plugin.js", name: "good" } });
    await pkg(nm, "@latentflow/tidy", { latentflow: { plugin: "./plugin.js" } });
    await pkg(nm, "plain", {});
    await pkg(nm, "@acme/escape", { latentflow: { plugin: "../good/plugin.js" } });
    await pkg(nm, "@acme/liar", { latentflow: { plugin: "./plugin.js", name: "liar" } }, "someone-else");
    await pkg(nm, "@acme/missing", { latentflow: { plugin: "./dist/plugin.js" } });
    await pkg(nm, "@acme/sub", { latentflow: { plugin: "./plugin.js" }, exports: { ".": "./index.js", "./plugin": "./plugin.js" } });
    // A declared entry that is a symlink out of the package.
    const link = await pkg(nm, "@acme/link", { latentflow: { plugin: "./linked.js" } });
    await symlink(join(nm, "plain", "index.js"), join(link, "linked.js"));
    // A pipeline folder with packages of its own: never a place plugins come from.
    hostile = join(root, "pipelines", "node_modules");
    await pkg(hostile, "@latentflow/evil", { latentflow: { plugin: "./plugin.js" } });
    await mkdir(join(project, "work"), { recursive: true });
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const imported = (dir: string) => existsSync(join(dir, "imported"));

  it("refuses a package without a declaration before importing any of it", async () => {
    const err = await findPlugin("plain", [project]).catch((e: LatentflowError) => e);
    expect(err).toBeInstanceOf(LatentflowError);
    expect((err as LatentflowError).code).toBe("E_NOT_A_PLUGIN");
    expect((err as LatentflowError).hint).toMatch(/"latentflow": \{ "plugin"/);
    expect(await codeOf(loadPlugins({ from: [project], packages: ["plain"] }))).toBe("E_NOT_A_PLUGIN");
    expect(imported(join(nm, "plain"))).toBe(false);
  });

  it("refuses a real installed non-plugin package without running it", async () => {
    // @changesets/cli runs its command line when imported.
    expect(await codeOf(loadPlugins({ from: [repo], packages: ["@changesets/cli"] }))).toBe("E_NOT_A_PLUGIN");
  });

  it("refuses entries outside the package, links out of it, missing entries and lying names", async () => {
    expect(await codeOf(findPlugin("@acme/escape", [project]))).toBe("E_NOT_A_PLUGIN");
    expect(await codeOf(findPlugin("@acme/link", [project]))).toBe("E_NOT_A_PLUGIN");
    expect(await codeOf(findPlugin("@acme/missing", [project]))).toBe("E_NOT_A_PLUGIN");
    expect(imported(join(nm, "good"))).toBe(false);
    expect(imported(join(nm, "plain"))).toBe(false);
    expect(await codeOf(loadPlugins({ from: [project], packages: ["@acme/liar"] }))).toBe("E_PLUGIN");
  });

  it("refuses paths and URLs as names", async () => {
    for (const name of ["./evil.js", "../x", "/etc/passwd", "file:///x.js", "@acme/../../x", "C:\\x"]) {
      expect(await codeOf(findPlugin(name, [project]))).toBe("E_PLUGIN_NAME");
    }
  });

  it("loads a declared plugin by package name, bare @latentflow name, or its declared subpath", async () => {
    const reg = await loadPlugins({ from: [project], packages: ["@acme/good", "tidy"] });
    expect(reg.list().map((p) => p.name)).toEqual(["core", "good", "tidy"]);
    expect(imported(join(nm, "@acme", "good"))).toBe(true);
    expect((await findPlugin("@acme/sub/plugin", [project])).name).toBe("sub");
    expect(await codeOf(findPlugin("@acme/sub/index", [project]))).toBe("E_NOT_A_PLUGIN");
  });

  it("discovers declared plugins from the bases only — never from elsewhere", async () => {
    const found = await discoverPlugins([join(project, "work")]);
    expect(found.map((p) => p.package).sort()).toEqual(["@acme/good", "@acme/liar", "@acme/sub", "@latentflow/tidy"]);
    expect(found.find((p) => p.package === "@acme/good")).toMatchObject({ name: "good", version: "1.2.3" });
    expect(await codeOf(findPlugin("@latentflow/evil", [project]))).toBe("E_UNKNOWN_PLUGIN");
    // `uses: evil/…` finds nothing to load; validation reports it.
    const reg = await loadPlugins({ from: [project], uses: ["evil", "tidy"] });
    expect(reg.list().map((p) => p.name)).toEqual(["core", "tidy"]);
    expect(imported(join(hostile, "@latentflow", "evil"))).toBe(false);
  });

  it("every plugin package of this repository declares its entry and ships it", async () => {
    // Every package with a plugin module (core's own plugin is built in, never loaded).
    const dirs = (await readdir(join(repo, "packages"))).filter((d) => d !== "core" && existsSync(join(repo, "packages", d, "src", "plugin.ts"))).map((d) => `packages/${d}`);
    expect(dirs.length).toBeGreaterThanOrEqual(3);
    for (const dir of [...dirs, "tooling/contract-tests"]) {
      const json = JSON.parse(await readFile(join(repo, dir, "package.json"), "utf8")) as { latentflow?: { plugin?: string }; files?: string[] };
      expect(json.latentflow?.plugin, dir).toBe("./dist/plugin.js");
      if (json.files) expect(json.files, dir).toContain("dist");
    }
  });
});
