import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { LatentflowError, definePlugin, type Plugin } from "@latentflow/core";

const PACKAGE = /^(@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._/-]*$/;

/**
 * Loads plugin packages by npm name (a bare name means `@latentflow/<name>`), resolved from `fromDir`
 * and then from this package. Names only: a job can never point a worker at a file to execute.
 */
export async function loadPluginPackages(names: string[], fromDir = process.cwd()): Promise<Plugin[]> {
  const out: Plugin[] = [];
  for (const raw of names) {
    const name = raw.startsWith("@") || raw.includes("/") ? raw : `@latentflow/${raw}`;
    if (!PACKAGE.test(name)) throw new LatentflowError("E_PLUGIN_NAME", `expected an npm package name, found '${raw}'`);
    if (name === "@latentflow/core") continue;
    let resolved: string | undefined;
    for (const base of [join(fromDir, "package.json"), import.meta.url]) {
      try {
        resolved = createRequire(base).resolve(name);
        break;
      } catch {
        // try the next base
      }
    }
    if (!resolved) throw new LatentflowError("E_UNKNOWN_PLUGIN", `plugin package '${name}' is not installed (looked from ${fromDir})`, { hint: `pnpm add ${name}` });
    const mod = (await import(pathToFileURL(resolved).href)) as { plugin?: Plugin; default?: Plugin };
    const plugin = mod.plugin ?? mod.default;
    if (!plugin || typeof plugin !== "object" || !Array.isArray(plugin.steps)) {
      throw new LatentflowError("E_PLUGIN", `package '${name}' does not export a Latentflow plugin (expected an export named 'plugin')`);
    }
    out.push(definePlugin(plugin));
  }
  return out;
}
