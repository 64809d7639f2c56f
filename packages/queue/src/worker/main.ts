#!/usr/bin/env node
import { parseArgs } from "node:util";
import { LatentflowError, type Logger } from "@latentflow/core";
import { describeRedis } from "../connection.js";
import { startWorker } from "./worker.js";

/**
 * `latentflow-worker`: the worker without the CLI (for slim images and for tests that spawn workers).
 * Same options as `latentflow worker`. Prints one "ready" line on stdout once it takes jobs.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      redis: { type: "string", default: process.env.LATENTFLOW_REDIS ?? "redis://127.0.0.1:6379" },
      prefix: { type: "string", default: process.env.LATENTFLOW_PREFIX ?? "lf" },
      plugins: { type: "string", multiple: true, default: [] },
      queues: { type: "string", multiple: true, default: [] },
      concurrency: { type: "string", default: "1" },
      "lock-duration": { type: "string" },
      "stalled-interval": { type: "string" },
      verbose: { type: "boolean", default: false },
    },
  });
  const list = (xs: string[]) => xs.flatMap((x) => x.split(",")).map((x) => x.trim()).filter(Boolean);
  const say = (level: string) => (m: string) => process.stderr.write(`[worker ${process.pid}] ${level} ${m}\n`);
  const log: Logger = { debug() {}, info: values.verbose ? say("info") : () => {}, warn: say("warn"), error: say("error") };
  const worker = await startWorker({
    redis: values.redis!,
    prefix: values.prefix!,
    plugins: list(values.plugins!),
    queues: list(values.queues!),
    concurrency: Number(values.concurrency),
    ...(values["lock-duration"] ? { lockDuration: Number(values["lock-duration"]) } : {}),
    ...(values["stalled-interval"] ? { stalledInterval: Number(values["stalled-interval"]) } : {}),
    log,
  });
  process.stdout.write(`ready ${describeRedis(values.redis!)} queues=${worker.queues.join(",")} plugins=${worker.plugins.join(",")}\n`);
  let closing = false;
  const stop = (signal: string) => {
    // A second signal hands running jobs back instead of waiting for them.
    const force = closing;
    closing = true;
    say("info")(`${signal}: ${force ? "handing back running jobs" : "finishing running jobs"}`);
    void worker.close(force).then(() => process.exit(0));
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof LatentflowError ? e.format() : e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(2);
});
