import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { findMachinePaths } from "./machine-paths.mjs";

const root = fileURLToPath(new URL("../../..", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "latentflow-paths-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("absolute machine paths", () => {
  it("none in the tracked files of this repository (a clone elsewhere would break on them)", () => {
    expect(findMachinePaths(root)).toEqual([]);
  });

  it("the check finds one when a tracked file holds it", () => {
    execFileSync("git", ["init", "-q"], { cwd: scratch });
    const home = ["", "home", "alice", "data.bin"].join("/");
    writeFileSync(join(scratch, "a.ts"), `const ok = "./relative";\nconst bad = "${home}";\n`);
    execFileSync("git", ["add", "a.ts"], { cwd: scratch });
    expect(findMachinePaths(scratch)).toEqual([{ file: "a.ts", line: 2, path: home }]);
  });
});
