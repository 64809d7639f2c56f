import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const dist = pathToFileURL(fileURLToPath(new URL("../dist/index.js", import.meta.url))).href;

describe("tfjs is an optional peer", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "lf-tfjs-missing-"));
    // A process where @tensorflow/tfjs is not installed, as for a user who did not add it.
    await writeFile(
      join(dir, "hooks.mjs"),
      `export async function resolve(specifier, context, next) {
  if (specifier.startsWith("@tensorflow/")) throw Object.assign(new Error(\`Cannot find package '\${specifier}' imported from here\`), { code: "ERR_MODULE_NOT_FOUND" });
  return next(specifier, context);
}
`,
    );
    await writeFile(join(dir, "register.mjs"), `import { register } from "node:module";\nregister("./hooks.mjs", import.meta.url);\n`);
    await writeFile(
      join(dir, "probe.mjs"),
      `const rt = await import(${JSON.stringify(dist)});
const installed = await rt.tfjsInstalled();
const auto = await rt.resolveTfBackend("auto", "probe");
const e = await rt.loadTf().then(() => undefined, (e) => ({ code: e.code, message: e.message, hint: e.hint }));
console.log(JSON.stringify({ installed, auto, e }));
`,
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("without it the package imports, auto resolves to wasm, and loading tfjs fails with E_RUNTIME_MISSING and the install command", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", join(dir, "register.mjs"), join(dir, "probe.mjs")]);
    const r = JSON.parse(stdout) as { installed: boolean; auto: string; e?: { code: string; message: string; hint: string } };
    expect(r.installed).toBe(false);
    expect(r.auto).toBe("wasm");
    expect(r.e?.code).toBe("E_RUNTIME_MISSING");
    expect(r.e?.message).toContain("Cannot find package '@tensorflow/tfjs'");
    expect(r.e?.hint).toContain("npm install @tensorflow/tfjs@^4.22.0 @tensorflow/tfjs-backend-wasm@^4.22.0");
  });
});
