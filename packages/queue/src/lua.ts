import { readFileSync } from "node:fs";

/** Reads a Lua script from the package's `lua/` directory (kept as files, not strings in code). */
export function luaScript(name: string): string {
  // src/ and dist/ sit at the same depth, so one relative path serves tests and the built package.
  return readFileSync(new URL(`../lua/${name}.lua`, import.meta.url), "utf8");
}
