#!/usr/bin/env node
import { constants } from "node:os";
import { parseArgs } from "node:util";
import { LatentflowError, type Logger } from "@latentflow/core";
import { describeRedis } from "../connection.js";
import { startWorker } from "./worker.js";

/**
 * `latentflow-worker`: the worker without the CLI (for slim images and for tests that spawn workers).
 * Same options as `latentflow worker`. Prints one "ready" line on stdout once it takes jobs.
 */
/** The exit code of a start cut short by a signal (128 + its number). */
let stoppedBy = 130;

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
  // Signals are heard from the start: the first stops gracefully (finishing running jobs, or the start under
  // way), a second ends the process at once, whatever Redis is doing.
  const starting = new AbortController();
  let stopping = false;
  let worker: Awaited<ReturnType<typeof startWorker>> | undefined;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      say("info")(`${signal} again: exiting now (running jobs go back to the queue when their locks expire)`);
      process.exit(128 + (constants.signals[signal] ?? 15));
    }
    stopping = true;
    if (!worker) {
      stoppedBy = 128 + (constants.signals[signal] ?? 15);
      return starting.abort();
    }
    say("info")(`${signal}: finishing running jobs (signal again to exit now)`);
    void worker.close(false).then(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  worker = await startWorker({
    redis: values.redis!,
    prefix: values.prefix!,
    plugins: list(values.plugins!),
    queues: list(values.queues!),
    concurrency: Number(values.concurrency),
    ...(values["lock-duration"] ? { lockDuration: Number(values["lock-duration"]) } : {}),
    ...(values["stalled-interval"] ? { stalledInterval: Number(values["stalled-interval"]) } : {}),
    log,
    signal: starting.signal,
    onFatal: (e) => {
      process.stderr.write(`${e.format()}\n`);
      process.exit(2);
    },
  });
  process.stdout.write(`ready ${describeRedis(values.redis!)} queues=${worker.queues.join(",")} plugins=${worker.plugins.join(",")}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof LatentflowError ? e.format() : e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(e instanceof LatentflowError && e.code === "E_CANCELLED" ? stoppedBy : 2);
});
