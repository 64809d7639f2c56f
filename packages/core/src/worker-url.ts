/**
 * The URL of a worker script built beside the calling module: `workerUrl(import.meta.url, "knn-worker.js")`.
 * Workers need compiled JavaScript, so a module running from its TypeScript source (`…/src/x/y.ts`, in
 * tests) gets the build of the same place (`…/dist/x/knn-worker.js`); a built module gets its sibling.
 */
export function workerUrl(moduleUrl: string, file: string): URL {
  if (!moduleUrl.endsWith(".ts")) return new URL(file, moduleUrl);
  const at = moduleUrl.lastIndexOf("/src/");
  if (at < 0) throw new Error(`workerUrl: expected a module under a src/ folder, found ${moduleUrl}`);
  return new URL(file, `${moduleUrl.slice(0, at)}/dist/${moduleUrl.slice(at + 5)}`);
}
