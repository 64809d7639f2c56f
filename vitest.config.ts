import { defineConfig } from "vitest/config";

// One run over every workspace project, so CI reads one summary (.reports/vitest.json).
export default defineConfig({
  test: {
    projects: ["packages/*", "apps/*", "tooling/*"],
    reporters: ["default", ["json", { outputFile: ".reports/vitest.json" }]],
  },
});
