import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FsRunStore, checkRunId, newRunId, type RunRecord } from "./run-record.js";
import { codeOf } from "../testing/errors.js";

describe("FsRunStore ids", () => {
  let root: string;
  let store: FsRunStore;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "lf-runs-"));
    await mkdir(join(root, "home", "runs"), { recursive: true });
    // A JSON file outside the store that a crafted id would reach.
    await writeFile(join(root, "secret.json"), JSON.stringify({ id: "../../secret", steps: {}, password: "hunter2" }));
    store = new FsRunStore(join(root, "home", "runs"));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("refuses ids that are not run ids, on load and save, before touching the disk", async () => {
    for (const id of ["../../secret", "..", ".", "a/b", "a\\b", "/etc/passwd", "", "x".repeat(129), "a:b", "\u0000", ".hidden"]) {
      expect(await codeOf(store.load(id)), id).toBe("E_RUN_ID");
      expect(await codeOf(store.save({ id, steps: {} } as unknown as RunRecord)), id).toBe("E_RUN_ID");
    }
    expect(() => checkRunId(42)).toThrow(/found 42/);
  });

  it("loads real ids, and names a file that is not a run record instead of handing it out", async () => {
    const id = newRunId();
    expect(checkRunId(id)).toBe(id);
    const record = { id, pipeline: "p", status: "succeeded", startedAt: new Date().toISOString(), steps: {} } as unknown as RunRecord;
    await store.save(record);
    expect(await store.load(id)).toEqual(record);
    expect(await store.load("nope")).toBeUndefined();
    await writeFile(join(store.dir, "broken.json"), "[1,2");
    await writeFile(join(store.dir, "other.json"), JSON.stringify({ id: "someone-else", steps: {} }));
    expect(await codeOf(store.load("broken"))).toBe("E_RUN_RECORD");
    expect(await codeOf(store.load("other"))).toBe("E_RUN_RECORD");
    // Strays do not hide the good runs.
    expect((await store.list()).map((r) => r.id)).toEqual([id]);
  });
});
