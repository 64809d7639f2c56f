import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FsArtifactStore } from "@latentflow/core";
import { describeArtifactStoreContract } from "./artifact-store-suite.js";

describeArtifactStoreContract("FsArtifactStore", async () => {
  const dir = await mkdtemp(join(tmpdir(), "lf-fs-store-"));
  const store = new FsArtifactStore(dir);
  return {
    store,
    async corrupt(key, name) {
      await writeFile(join(dir, "objects", key.slice(0, 2), key, name), "tampered");
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});
