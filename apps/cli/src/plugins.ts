import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { LatentflowError, PluginRegistry, corePlugin, definePlugin, type Plugin } from "@latentflow/core";

// A package name, optionally with a subpath export (`@scope/pkg/plugin`); never a file path.
const PACKAGE = /^(@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*$/;

/**
 * Loads plugin packages by npm name, resolved from `fromFile` (the pipeline file) first and then from
 * the CLI itself. Only package names are accepted: a pipeline can choose among installed plugins but
 * can never point the engine at a file to execute.
 */
export async function loadPlugins(names: string[], fromFile: string): Promise<PluginRegistry> {
  const registry = new PluginRegistry([corePlugin]);
  for (const raw of names) {
    const name = raw.startsWith("@") || raw.includes("/") ? raw : `@latentflow/${raw}`;
    if (!PACKAGE.test(name)) throw new LatentflowError("E_PLUGIN_NAME", `expected an npm package name, found '${raw}'`);
    if (name === "@latentflow/core") continue;
    let resolved: string | undefined;
    for (const base of [fromFile, import.meta.url]) {
      try {
        resolved = createRequire(base).resolve(name);
        break;
      } catch {
        // try the next base
      }
    }
    if (!resolved) {
      throw new LatentflowError("E_UNKNOWN_PLUGIN", `plugin package '${name}' is not installed (looked from ${fromFile})`, { hint: `pnpm add ${name}` });
    }
    const mod = (await import(pathToFileURL(resolved).href)) as { plugin?: Plugin; default?: Plugin };
    const plugin = mod.plugin ?? mod.default;
    if (!plugin || typeof plugin !== "object" || !Array.isArray(plugin.steps)) {
      throw new LatentflowError("E_PLUGIN", `package '${name}' does not export a Latentflow plugin (expected an export named 'plugin')`);
    }
    registry.register(definePlugin(plugin));
  }
  return registry;
}
