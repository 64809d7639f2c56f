import { defineProject } from "vitest/config";

export default defineProject({
  test: { name: "encoders-image", include: ["src/**/*.test.ts"], testTimeout: 300_000, hookTimeout: 300_000 },
});
