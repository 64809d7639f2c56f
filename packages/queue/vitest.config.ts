import { defineProject } from "vitest/config";

// Integration tests talk to the Redis on 127.0.0.1:6379 (or $LATENTFLOW_TEST_REDIS) and spawn worker
// processes from dist/: run `pnpm build` first. They run in CI, never skipped.
export default defineProject({
  test: {
    name: "queue",
    include: ["src/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
