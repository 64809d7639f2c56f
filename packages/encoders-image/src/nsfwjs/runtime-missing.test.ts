import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const dist = pathToFileURL(fileURLToPath(new URL("../../dist/index.js", import.meta.url))).href;

describe("the model runtimes are optional peers", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "lf-image-runtime-"));
    // Processes where some runtimes are not installed, as for a user who did not add them.
    await writeFile(
      join(dir, "hooks.mjs"),
      `const hidden = (process.env.HIDE ?? "").split(",");
export async function resolve(specifier, context, next) {
  if (hidden.some((h) => specifier === h || specifier.startsWith(h + "/"))) throw Object.assign(new Error(\`Cannot find package '\${specifier}' imported from here\`), { code: "ERR_MODULE_NOT_FOUND" });
  return next(specifier, context);
}
`,
    );
    await writeFile(join(dir, "register.mjs"), `import { register } from "node:module";\nregister("./hooks.mjs", import.meta.url);\n`);
    await writeFile(
      join(dir, "probe.mjs"),
      `const { MobileNetV2Features, decodeImage } = await import(${JSON.stringify(dist)});
const err = (e) => ({ code: e.code, message: e.message, hint: e.hint });
const png = Uint8Array.from(Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC", "base64"));
const decoded = await decodeImage(png).then((i) => i.width, err);
const auto = await MobileNetV2Features.load().then(async (e) => { const b = e.backendName; const v = await e.encode([{ kind: "media", mediaType: "image/png", bytes: png }]); await e.dispose(); return { backend: b, dim: v.length }; }, err);
const named = await MobileNetV2Features.load({ backend: "onnxruntime" }).then(() => undefined, err);
console.log(JSON.stringify({ decoded, auto, named }));
`,
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const probe = async (hide: string) => {
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", join(dir, "register.mjs"), join(dir, "probe.mjs")], { env: { ...process.env, HIDE: hide } });
    return JSON.parse(stdout) as { decoded: number; auto: { backend?: string; dim?: number; code?: string; hint?: string }; named?: { code: string; hint: string } };
  };

  it("without onnxruntime-node, auto runs the model on tfjs wasm, and asking for onnxruntime says how to install it", async () => {
    const r = await probe("onnxruntime-node");
    expect(r.decoded).toBe(1);
    expect(r.auto).toEqual({ backend: "wasm", dim: 1280 });
    expect(r.named?.code).toBe("E_RUNTIME_MISSING");
    expect(r.named?.hint).toContain("ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node");
  });

  it("without tfjs and onnxruntime-node the package still imports and decodes; loading a model fails with E_RUNTIME_MISSING", async () => {
    const r = await probe("onnxruntime-node,@tensorflow/tfjs,@tensorflow/tfjs-backend-wasm");
    expect(r.decoded).toBe(1);
    expect(r.auto.code).toBe("E_RUNTIME_MISSING");
    expect(r.auto.hint).toMatch(/npm install/);
  });
});
