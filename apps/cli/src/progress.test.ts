import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { createReporter, rateAndEta } from "./progress.js";

describe("progress", () => {
  it("states a rate and an ETA", () => {
    expect(rateAndEta(50, 200, 5000)).toBe("10.0/s · ETA 15 s");
    expect(rateAndEta(3, 1000, 1000)).toBe("3.00/s · ETA 5 min 32 s");
    expect(rateAndEta(500, 500, 2000)).toBe("250/s");
    expect(rateAndEta(0, 500, 2000)).toBe("");
  });

  it("plain lines carry the step's unit (from its message), a rate and an ETA once there is one", async () => {
    const out = new PassThrough();
    let text = "";
    out.on("data", (d) => (text += d));
    const r = createReporter("plain", () => {}, out as unknown as NodeJS.WriteStream);
    r.onEvent({ type: "step-progress", runId: "r", stepId: "map", done: 0, total: 500, message: "epochs (setup: nearest neighbours)" });
    await new Promise((res) => setTimeout(res, 20));
    r.onEvent({ type: "step-progress", runId: "r", stepId: "map", done: 100, total: 500, message: "epochs (layout)" });
    expect(text).toContain("[map] 0/500 epochs (setup: nearest neighbours)\n");
    expect(text).toMatch(/\[map\] 100\/500 epochs \(layout\) · [0-9.]+\/s · ETA \d+ (s|min)/);
  });
});
