import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "@latentflow/core";
import { redisOptions } from "../connection.js";
import { dropPrefix, REDIS_URL, uniquePrefix } from "../test-support.js";
import { orphanSweep } from "./worker.js";

describe("jobs left active under a worker's lock", () => {
  const closers: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  it("are handed back to the queue soon after the worker reconnects; jobs it runs are not", async () => {
    const prefix = uniquePrefix("orphan");
    const connection = redisOptions(REDIS_URL);
    const queue = new Queue("default", { connection, prefix });
    const worker = new Worker("default", async () => {}, { connection, prefix, autorun: false });
    const client = new Redis(REDIS_URL);
    worker.on("error", () => {});
    closers.push(() => dropPrefix(REDIS_URL, prefix), () => queue.close(), () => worker.close(true), () => client.quit());
    await queue.add("a", {}, { jobId: "lost" });
    await queue.add("b", {}, { jobId: "running" });
    // What a command run twice across a Redis restart leaves: jobs active under this worker's lock, one
    // of which it never heard of.
    const lost = await worker.getNextJob(`${worker.id}:1`);
    const running = await worker.getNextJob(`${worker.id}:2`);
    expect([lost?.id, running?.id]).toEqual(["lost", "running"]);
    const stop = orphanSweep(worker, new Set(["running"]), client, silentLogger);
    closers.push(async () => stop());
    (await worker.client).disconnect(true);
    const t0 = Date.now();
    while ((await queue.getJobState("lost")) === "active" && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 50));
    expect(await queue.getJobState("lost")).toBe("waiting");
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(await queue.getJobState("running")).toBe("active");
  });
});
