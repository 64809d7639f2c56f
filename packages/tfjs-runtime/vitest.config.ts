import { defineProject } from "vitest/config";

export default defineProject({
  test: { name: "tfjs-runtime", include: ["src/**/*.test.ts"], testTimeout: 120_000 },
});
