import { join } from "node:path";
import { FsArtifactStore, FsRunStore, LocalExecutor } from "@latentflow/core";
import { describeExecutorContract } from "./executor-suite.js";

describeExecutorContract("LocalExecutor", async (dir) => ({
  executor: new LocalExecutor(),
  store: new FsArtifactStore(join(dir, "store")),
  runStore: new FsRunStore(join(dir, "runs")),
}));
