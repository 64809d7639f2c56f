import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const dist = pathToFileURL(fileURLToPath(new URL("../../dist/index.js", import.meta.url))).href;

describe("USE's runtimes are optional peers", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "lf-use-runtime-"));
    // A process where neither onnxruntime-node nor tfjs is installed, as for a user who added only the model.
    await writeFile(
      join(dir, "hooks.mjs"),
      `export async function resolve(specifier, context, next) {
  if (specifier === "onnxruntime-node" || specifier.startsWith("@tensorflow/")) throw Object.assign(new Error(\`Cannot find package '\${specifier}' imported from here\`), { code: "ERR_MODULE_NOT_FOUND" });
  return next(specifier, context);
}
`,
    );
    await writeFile(join(dir, "register.mjs"), `import { register } from "node:module";\nregister("./hooks.mjs", import.meta.url);\n`);
    await writeFile(
      join(dir, "probe.mjs"),
      `const { UniversalSentenceEncoder, OnnxSentenceEncoder, TfidfVectorizer } = await import(${JSON.stringify(dist)});
const err = (e) => ({ code: e.code, message: e.message, hint: e.hint });
const use = await UniversalSentenceEncoder.load().then(() => undefined, err);
const named = await UniversalSentenceEncoder.load({ backend: "onnxruntime" }).then(() => undefined, err);
console.log(JSON.stringify({ use, named, tfidf: typeof TfidfVectorizer }));
`,
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("the package imports without them; USE fails with E_RUNTIME_MISSING naming both runtimes and how to install each", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", join(dir, "register.mjs"), join(dir, "probe.mjs")]);
    const r = JSON.parse(stdout) as { use?: { code: string; message: string; hint: string }; named?: { code: string; hint: string }; tfidf: string };
    expect(r.tfidf).toBe("function");
    expect(r.use?.code).toBe("E_RUNTIME_MISSING");
    expect(r.use?.message).toContain("onnxruntime-node, or @tensorflow/tfjs with @tensorflow/tfjs-backend-wasm — found neither installed");
    expect(r.use?.hint).toContain("ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node");
    expect(r.use?.hint).toContain("npm install @tensorflow/tfjs@^4.22.0 @tensorflow/tfjs-backend-wasm@^4.22.0");
    expect(r.named?.code).toBe("E_BACKEND");
    expect(r.named?.hint).toContain("ONNXRUNTIME_NODE_INSTALL=skip");
  });
});
