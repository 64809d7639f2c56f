import { existsSync } from "node:fs";
import { readFile, readdir, realpath } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { LatentflowError, type SourceLocation } from "../errors.js";
import { PluginRegistry, definePlugin, type Plugin } from "../plugin.js";
import { corePlugin } from "../steps/plugin.js";

// A package name, optionally with a subpath (`@scope/pkg/plugin`); never a file path or URL.
const PACKAGE = /^(@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*$/;
const PLUGIN_NAME = /^[a-z][a-z0-9-]*$/;
const DECLARATION = `"latentflow": { "plugin": "./dist/plugin.js" }`;

/** An installed package that declares itself a Latentflow plugin; found without importing anything. */
export interface InstalledPlugin {
  /** The plugin's name, as pipelines write it in `uses: <name>/<step>`. */
  name: string;
  /** The npm package that provides it. */
  package: string;
  version: string;
  /** The package's directory (symlinks resolved). */
  dir: string;
  /** The declared entry module, inside `dir`. */
  entry: string;
}

/**
 * Where plugins are resolved from, most trusted first: directories, or module URLs (`import.meta.url`),
 * each looked up the way Node looks up packages (its `node_modules` and its ancestors'). Callers pass their
 * own installation and the user's project (the working directory) — never a pipeline file's folder.
 */
export type PluginBases = readonly (string | URL)[];

function baseDir(base: string | URL): string {
  if (base instanceof URL || base.startsWith("file:")) return dirname(fileURLToPath(base));
  return resolve(base);
}

/** Every `node_modules` directory a base can see, nearest first. */
function nodeModulesDirs(bases: PluginBases): string[] {
  const out: string[] = [];
  for (const base of bases) {
    let dir = baseDir(base);
    for (;;) {
      if (!dir.endsWith(`${sep}node_modules`)) {
        const nm = join(dir, "node_modules");
        if (!out.includes(nm)) out.push(nm);
      }
      const up = dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  return out;
}

function inside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);
}

/** The package name and subpath a user wrote; a bare `name` means `@latentflow/name`, then `name`. */
function parseName(raw: string): { candidates: string[]; subpath?: string } {
  if (!PACKAGE.test(raw)) {
    throw new LatentflowError("E_PLUGIN_NAME", `expected an npm package name, found '${raw}'`, {
      hint: "plugins are named by package (e.g. @latentflow/indexers); paths and URLs are refused so nothing outside installed packages is ever run",
    });
  }
  const parts = raw.split("/");
  const n = raw.startsWith("@") ? 2 : 1;
  const pkg = parts.slice(0, n).join("/");
  const subpath = parts.length > n ? parts.slice(n).join("/") : undefined;
  const candidates = raw.startsWith("@") || subpath ? [pkg] : [`@latentflow/${pkg}`, pkg];
  return subpath ? { candidates, subpath } : { candidates };
}

/**
 * Reads `<dir>/package.json` and checks its Latentflow declaration. Throws E_NOT_A_PLUGIN when there is
 * none (or it points outside the package); nothing of the package is imported.
 */
export async function readPluginDeclaration(dir: string): Promise<InstalledPlugin> {
  const file = join(dir, "package.json");
  let pkg: { name?: unknown; version?: unknown; latentflow?: { plugin?: unknown; name?: unknown } };
  try {
    pkg = JSON.parse(await readFile(file, "utf8"));
  } catch (e) {
    throw new LatentflowError("E_NOT_A_PLUGIN", `cannot read ${file}: ${(e as Error).message}`);
  }
  const name = typeof pkg.name === "string" ? pkg.name : dir;
  const decl = pkg.latentflow;
  if (!decl || typeof decl !== "object" || typeof decl.plugin !== "string") {
    throw new LatentflowError("E_NOT_A_PLUGIN", `package '${name}' is installed but does not declare itself a Latentflow plugin (no "latentflow.plugin" in its package.json); it was not imported`, {
      hint: `a plugin package declares ${DECLARATION} in its package.json`,
      data: { package: name, dir },
    });
  }
  const real = await realpath(dir);
  const declared = resolve(real, decl.plugin);
  if (!inside(real, declared) || !/\.(m?js)$/.test(declared)) {
    throw new LatentflowError("E_NOT_A_PLUGIN", `package '${name}' declares plugin entry '${decl.plugin}', expected a .js file inside the package`, { hint: `e.g. ${DECLARATION}` });
  }
  let entry: string;
  try {
    entry = await realpath(declared);
  } catch {
    throw new LatentflowError("E_NOT_A_PLUGIN", `package '${name}' declares plugin entry '${decl.plugin}', which is not there (${declared})`, { hint: "build the package, or check that its 'files' ship the entry" });
  }
  if (!inside(real, entry)) throw new LatentflowError("E_NOT_A_PLUGIN", `package '${name}': plugin entry '${decl.plugin}' links outside the package`);
  const pluginName = typeof decl.name === "string" ? decl.name : name.replace(/^@latentflow\//, "").replace(/^@[^/]+\//, "");
  if (!PLUGIN_NAME.test(pluginName)) {
    throw new LatentflowError("E_NOT_A_PLUGIN", `package '${name}' declares plugin name '${pluginName}', expected lowercase letters, digits and '-'`, { hint: `set "latentflow": { "name": "…" } in its package.json` });
  }
  return { name: pluginName, package: name, version: typeof pkg.version === "string" ? pkg.version : "0.0.0", dir: real, entry };
}

/** The directory of installed package `pkg` as seen from `bases`, or undefined. */
function findPackageDir(pkg: string, bases: PluginBases): string | undefined {
  for (const nm of nodeModulesDirs(bases)) {
    const dir = join(nm, pkg);
    if (existsSync(join(dir, "package.json"))) return dir;
  }
  return undefined;
}

/**
 * Finds the installed plugin package `raw` names (`@scope/pkg`, `pkg`, or bare `name` for
 * `@latentflow/name`) and checks its declaration. Nothing is imported. A subpath (`pkg/plugin`) is
 * accepted only when it resolves to the declared entry.
 */
export async function findPlugin(raw: string, bases: PluginBases, location?: SourceLocation): Promise<InstalledPlugin> {
  const { candidates, subpath } = parseName(raw);
  for (const pkg of candidates) {
    const dir = findPackageDir(pkg, bases);
    if (!dir) continue;
    const found = await readPluginDeclaration(dir).catch((e: unknown) => {
      if (e instanceof LatentflowError && location) throw new LatentflowError(e.code, e.message, { ...(e.hint ? { hint: e.hint } : {}), location, ...(e.data ? { data: e.data } : {}) });
      throw e;
    });
    if (subpath && !(await subpathIsEntry(found, subpath))) {
      throw new LatentflowError("E_NOT_A_PLUGIN", `'${raw}' is not the plugin entry package '${pkg}' declares`, { hint: `name the package alone: ${pkg}`, ...(location ? { location } : {}) });
    }
    return found;
  }
  const looked = nodeModulesDirs(bases).slice(0, 4).join(", ");
  throw new LatentflowError("E_UNKNOWN_PLUGIN", `plugin package '${candidates[0]}' is not installed (looked in ${looked}, …)`, {
    hint: `install it where you run latentflow (npm install ${candidates[0]}); pipeline folders are never searched`,
    ...(location ? { location } : {}),
  });
}

/** Whether `<package>/<subpath>` names the declared entry: in the package's exports map, or as a plain path. */
async function subpathIsEntry(found: InstalledPlugin, subpath: string): Promise<boolean> {
  const pkg = JSON.parse(await readFile(join(found.dir, "package.json"), "utf8")) as { exports?: Record<string, unknown> };
  const target = pkg.exports?.[`./${subpath}`];
  const path = typeof target === "string" ? target : target && typeof target === "object" ? ((target as Record<string, unknown>).default ?? (target as Record<string, unknown>).import) : `./${subpath}`;
  return typeof path === "string" && resolve(found.dir, path) === found.entry;
}

/**
 * Every installed package `bases` can see that declares itself a Latentflow plugin, by reading package.json
 * files only. The nearest base wins when two provide the same plugin name.
 */
export async function discoverPlugins(bases: PluginBases): Promise<InstalledPlugin[]> {
  const byName = new Map<string, InstalledPlugin>();
  const seenPackages = new Set<string>();
  for (const nm of nodeModulesDirs(bases)) {
    const entries = await readdir(nm).catch(() => [] as string[]);
    const dirs: string[] = [];
    for (const e of entries.sort()) {
      if (e.startsWith(".")) continue;
      if (e.startsWith("@")) {
        for (const s of (await readdir(join(nm, e)).catch(() => [] as string[])).sort()) dirs.push(`${e}/${s}`);
      } else dirs.push(e);
    }
    for (const pkg of dirs) {
      if (seenPackages.has(pkg)) continue;
      const dir = join(nm, pkg);
      // Cheap pre-check: only packages that mention the key are parsed and checked.
      const text = await readFile(join(dir, "package.json"), "utf8").catch(() => "");
      if (!text.includes('"latentflow"')) continue;
      seenPackages.add(pkg);
      const found = await readPluginDeclaration(dir).catch(() => undefined);
      if (found && !byName.has(found.name)) byName.set(found.name, found);
    }
  }
  return [...byName.values()];
}

const imported = new Map<string, Promise<Plugin>>();

/** Imports a found plugin's declared entry and checks that it exports the plugin it declared. */
export function importPlugin(found: InstalledPlugin): Promise<Plugin> {
  let p = imported.get(found.entry);
  if (!p) {
    p = (async () => {
      const mod = (await import(pathToFileURL(found.entry).href)) as { plugin?: Plugin; default?: Plugin };
      const plugin = mod.plugin ?? mod.default;
      if (!plugin || typeof plugin !== "object" || !Array.isArray(plugin.steps)) {
        throw new LatentflowError("E_PLUGIN", `package '${found.package}': ${found.entry} does not export a Latentflow plugin (expected an export named 'plugin')`);
      }
      if (plugin.name !== found.name) {
        throw new LatentflowError("E_PLUGIN", `package '${found.package}' declares plugin '${found.name}' but its entry exports plugin '${plugin.name}'`, { hint: `set "latentflow": { "name": "${plugin.name}" } in its package.json` });
      }
      return definePlugin(plugin);
    })();
    imported.set(found.entry, p);
    p.catch(() => imported.delete(found.entry));
  }
  return p;
}

export interface LoadPluginsOptions {
  /** Where to resolve from, most trusted first (see PluginBases). */
  from: PluginBases;
  /** Packages named explicitly (a pipeline's `plugins:`, `--plugins`): each must be installed and declared. */
  packages?: (string | { name: string; loc?: SourceLocation })[];
  /**
   * Plugin names a pipeline's steps use (`uses: <name>/…`): loaded when an installed package declares
   * them; the others are left for validation to report with the step's location.
   */
  uses?: string[];
  /** Load every installed, declared plugin. One that fails to import is reported to onWarning and left out. */
  all?: boolean;
  onWarning?: (message: string) => void;
}

/**
 * The one way Latentflow turns plugin names into code: finds installed packages that declare themselves
 * plugins, checks the declaration, and only then imports the declared entry. The core plugin is always in.
 */
export async function loadPlugins(options: LoadPluginsOptions): Promise<PluginRegistry> {
  const registry = new PluginRegistry([corePlugin]);
  const add = (p: Plugin) => {
    if (registry.plugin(p.name) !== p) registry.register(p);
  };
  for (const item of options.packages ?? []) {
    const { name, loc } = typeof item === "string" ? { name: item, loc: undefined } : item;
    if (name === "@latentflow/core" || name === "core") continue;
    add(await importPlugin(await findPlugin(name, options.from, loc)));
  }
  let discovered: InstalledPlugin[] | undefined;
  const discover = async () => (discovered ??= await discoverPlugins(options.from));
  for (const name of new Set(options.uses ?? [])) {
    if (registry.plugin(name) || !PLUGIN_NAME.test(name)) continue;
    const direct = findPackageDir(`@latentflow/${name}`, options.from);
    let found = direct ? await readPluginDeclaration(direct).catch(() => undefined) : undefined;
    if (found?.name !== name) found = (await discover()).find((p) => p.name === name);
    if (found) add(await importPlugin(found));
  }
  if (options.all) {
    for (const found of await discover()) {
      if (registry.plugin(found.name)) continue;
      try {
        add(await importPlugin(found));
      } catch (e) {
        options.onWarning?.(`plugin ${found.package} (${found.dir}) could not be loaded: ${e instanceof LatentflowError ? `${e.code} ${e.message}` : (e as Error).message}`);
      }
    }
  }
  return registry;
}
