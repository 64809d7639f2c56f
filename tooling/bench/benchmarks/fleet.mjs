// The worker fleet against the real Redis on 127.0.0.1:6379 (LATENTFLOW_BENCH_REDIS to override).
// Ours: QueueExecutor + `latentflow-worker` processes running N independent trivial steps (contract/numbers,
// fresh params so every step executes and writes its artifact), with 1 and 2 worker processes. Peer, in the
// same run: plain BullMQ Queue.add → Worker (no-op processor) with the same job count, worker processes and
// concurrency. Both fleets are up together and their batches alternate (warm-up and timed alike), so both
// meet the same machine; the median of TIMED batches counts, and the first batch through fresh processes is
// reported as the cold figure. Dispatch latency is job.timestamp (enqueued) → job.processedOn (a worker took it), read back
// from Redis after each run; also on an idle fleet (one job in flight at a time).
// Every key lives under a prefix unique to this run and is deleted at the end; nothing else is touched.
//
// Run as `node fleet.mjs --bullmq-worker <url> <prefix> <queue> <concurrency>` it is the peer's worker process.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Job, Queue, QueueEvents, Worker } from "bullmq";
import { Redis } from "ioredis";

const REDIS_URL = process.env.LATENTFLOW_BENCH_REDIS ?? "redis://127.0.0.1:6379";
const STEPS = 400; // jobs per throughput run
const CONCURRENCY = 8; // per worker process
const IDLE_STEPS = 40; // jobs of the idle-fleet latency runs
// Both sides get the same treatment: WARMUP_BATCHES batches of WARMUP jobs through the freshly started
// processes first (untimed: a fresh process runs unoptimised code and a small young heap, and measured
// per batch its CPU per job falls for the first ~1,500 jobs before it levels off), then TIMED batches of
// STEPS jobs, of which the median counts (one batch lasts a fraction of a second: single batches are noisy).
const WARMUP_BATCHES = 12;
const WARMUP = STEPS;
const TIMED = 7;
const LIMIT_MS = 60_000; // any single run taking longer than this fails the benchmark instead of hanging it
const SCALING = [100, 400, 800];
// Steps that wait instead of returning at once: WAIT_STEPS per batch, median of WAIT_BATCHES per side.
const WAIT_MS = 20;
const WAIT_STEPS = 400;
const WAIT_BATCHES = 3; // steps per run, 1 worker: shows the per-run cost that grows with run size

if (process.argv[2] === "--bullmq-worker") {
  // The peer's worker process: a plain BullMQ Worker with a no-op processor.
  const [, , , url, prefix, queue, concurrency] = process.argv;
  const { redisOptions } = await import("@latentflow/queue");
  // A job may ask to wait `ms` first (the "steps that wait" rows); otherwise it returns at once.
  const w = new Worker(queue, async (job) => (job.data.ms ? new Promise((r) => setTimeout(() => r(null), job.data.ms)) : null), { connection: redisOptions(url), prefix, concurrency: Number(concurrency) });
  w.on("error", (e) => process.stderr.write(`${e.message}\n`));
  await w.waitUntilReady();
  process.stdout.write("ready\n");
  process.on("SIGTERM", () => void w.close().then(() => process.exit(0)));
}

// Each side's coordinating process is a child of its own, started with `--ours-driver` or `--peer-driver`
// and driven over IPC ({ id, cmd } in, { id, … } out): its CPU is its own, and the two sides' code does not
// share one JIT (run in one process, each side's calls into BullMQ and ioredis slowed the other's).
if (process.argv[2] === "--ours-driver" || process.argv[2] === "--peer-driver") {
  const [, , mode, url, prefix, dir, queueName] = process.argv;
  const serve = (handlers) => {
    process.on("message", async (m) => {
      try {
        process.send({ id: m.id, ...(await handlers[m.cmd](m)) });
      } catch (e) {
        process.send({ id: m.id, error: e instanceof Error ? e.stack ?? e.message : String(e) });
      }
    });
    process.send({ ready: true });
  };
  const { redisOptions } = await import("@latentflow/queue");
  if (mode === "--ours-driver") {
    const { PluginRegistry, corePlugin, loadPipelineText } = await import("@latentflow/core");
    const { plugin: contractPlugin } = await import("@latentflow/contract-tests/plugin");
    const { QueueExecutor, RedisArtifactStore, RedisRunStore } = await import("@latentflow/queue");
    const registry = new PluginRegistry([corePlugin, contractPlugin]);
    let nonce = 0;
    // Fresh params on every pipeline: nothing is ever cached, every step runs and stores its artifact.
    // Steps that wait `sleepMs` (contract/slow) instead of trivial ones, when asked.
    const pipeline = (n, sleepMs = 0) => {
      // Unique to this process: the drivers of earlier phases ran pipelines of their own.
      const base = (process.pid * 10_000 + ++nonce) * 1_000;
      const lines = Array.from({ length: n }, (_, i) =>
        sleepMs ? `  s${i}: { uses: contract/slow, with: { ms: ${sleepMs}, tag: "${base + i}" } }` : `  s${i}: { uses: contract/numbers, with: { n: 1, start: ${base + i} } }`,
      );
      return loadPipelineText(`version: 1\nsteps:\n${lines.join("\n")}\n`, join(dir, "pipeline.yaml"), registry, dir);
    };
    const executor = new QueueExecutor({ redis: url, prefix });
    const store = new RedisArtifactStore({ redis: url, prefix });
    // Coordinator-side calls, counted (with their summed latency) batch by batch.
    let counts = {};
    for (const [label, obj, name] of [
      ["Queue.add", Queue.prototype, "add"],
      ["Queue.addBulk", Queue.prototype, "addBulk"],
      ["Job.fromId", Job, "fromId"],
      ["Queue.getJobState", Queue.prototype, "getJobState"],
      ["RedisRunStore.save", RedisRunStore.prototype, "save"],
      ["RedisArtifactStore.stat", RedisArtifactStore.prototype, "stat"],
    ]) {
      const orig = obj[name];
      obj[name] = async function (...args) {
        const t = performance.now();
        try {
          return await orig.apply(this, args);
        } finally {
          const c = (counts[label] ??= { calls: 0, summedMs: 0 });
          c.calls++;
          c.summedMs += performance.now() - t;
        }
      };
    }
    const noRecords = { save: async () => {}, load: async () => undefined, list: async () => [] };
    serve({
      async batch({ n, concurrency, noRecordWrites, sleepMs }) {
        const plan = pipeline(n, sleepMs);
        counts = {};
        const ends = [];
        const cpu0 = process.cpuUsage();
        const t0 = Date.now();
        const rec = await executor.run(plan, {
          store,
          signal: AbortSignal.timeout(LIMIT_MS),
          ...(concurrency ? { concurrency } : {}),
          ...(noRecordWrites ? { runStore: noRecords } : {}),
          onEvent: (e) => e.type === "step-end" && ends.push([e.stepId, Date.now()]),
        });
        const wallMs = Date.now() - t0;
        const cpu = process.cpuUsage(cpu0);
        if (rec.status !== "succeeded") throw new Error(`fleet run ${rec.status}: ${rec.error?.message}`);
        const misses = Object.values(rec.steps).filter((x) => x.cache === "miss").length;
        if (misses !== n) throw new Error(`expected ${n} executed steps, ${misses} were cache misses`);
        return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000, t0, ends, counts, record: rec };
      },
      async close() {
        await executor.close();
        await store.close();
        setImmediate(() => process.exit(0));
        return {};
      },
    });
  } else {
    // The peer: every job added at once, one `add` each, completions heard through QueueEvents (as by our
    // coordinator); a slow poll is only a safety net for events a just-started reader can miss, and is
    // counted when it is what ended a batch.
    const connection = redisOptions(url);
    const queue = new Queue(queueName, { connection, prefix });
    const events = new QueueEvents(queueName, { connection, prefix });
    await events.waitUntilReady();
    let completed = 0;
    let target = 0;
    let wakeUp = () => {};
    events.on("completed", () => ++completed >= target && wakeUp());
    serve({
      async batch({ tag, n, sleepMs }) {
        completed = 0;
        target = n;
        let heardByPoll = false;
        const before = await queue.getCompletedCount();
        const finished = new Promise((res) => (wakeUp = res));
        const poll = setInterval(async () => {
          if (completed < target && (await queue.getCompletedCount()) >= before + n) {
            heardByPoll = true;
            wakeUp();
          }
        }, 250);
        const cpu0 = process.cpuUsage();
        const t = Date.now();
        await Promise.all(Array.from({ length: n }, (_, i) => queue.add("noop", sleepMs ? { i, ms: sleepMs } : { i }, { jobId: `${tag}.${i}`, removeOnComplete: { age: 3600 }, removeOnFail: { age: 3600 } })));
        let timer;
        const timeout = new Promise((_, rej) => {
          timer = setTimeout(async () => rej(new Error(`BullMQ batch ${tag}: heard ${completed} of ${n} completions in ${LIMIT_MS} ms; job counts ${JSON.stringify(await queue.getJobCounts())}`)), LIMIT_MS);
        });
        await Promise.race([finished, timeout]).finally(() => {
          clearTimeout(timer);
          clearInterval(poll);
        });
        const wallMs = Date.now() - t;
        const cpu = process.cpuUsage(cpu0);
        return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000, heardByPoll };
      },
      async idle({ n }) {
        const t = Date.now();
        for (let i = 0; i < n; i++) {
          const job = await queue.add("noop", { i }, { jobId: `idle.${i}`, removeOnComplete: { age: 3600 } });
          await job.waitUntilFinished(events, LIMIT_MS);
        }
        return { wallMs: Date.now() - t };
      },
      async close() {
        await events.close();
        await queue.close();
        setImmediate(() => process.exit(0));
        return {};
      },
    });
  }
}

/** Starts a driver process (see above) and gives a function that sends it a command and waits for its answer. */
async function startDriver(self, args) {
  const { fork } = await import("node:child_process");
  const child = fork(self, args, { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const pending = new Map();
  let next = 0;
  child.on("message", (m) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.error) p.reject(new Error(`driver ${args[0]}: ${m.error}`));
    else p.resolve(m);
  });
  const exited = new Promise((res) => child.on("exit", (code) => res(code)));
  void exited.then((code) => {
    for (const p of pending.values()) p.reject(new Error(`driver ${args[0]} exited with ${code}`));
    pending.clear();
  });
  await new Promise((res, rej) => {
    child.once("message", (m) => (m.ready ? res() : rej(new Error(`driver ${args[0]}: ${m.error}`))));
    void exited.then((code) => rej(new Error(`driver ${args[0]} exited with ${code} before it was ready`)));
  });
  const call = (cmd, params = {}) =>
    new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      child.send({ id, cmd, ...params });
    });
  return { child, exited, call, output: () => "" };
}

const pct = (xs, p) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
const stats = (xs) => ({ p50: pct(xs, 50), p99: pct(xs, 99), mean: +(xs.reduce((a, b) => a + b, 0) / (xs.length || 1)).toFixed(2), max: pct(xs, 100) });
const r2 = (x) => +x.toFixed(2);
const r4 = (x) => +x.toFixed(4);

async function dropPrefix(url, prefix) {
  const r = new Redis(url, { maxRetriesPerRequest: 1 });
  let n = 0;
  try {
    let cursor = "0";
    do {
      const [next, keys] = await r.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length) n += await r.del(...keys);
    } while (cursor !== "0");
  } finally {
    r.disconnect();
  }
  return n;
}

/** Starts a process and resolves once it printed "ready". */
async function spawnReady(args, cwd) {
  const child = spawn(process.execPath, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (b) => (out += b));
  child.stderr.on("data", (b) => (out += b));
  const exited = new Promise((res) => child.on("exit", (code) => res(code)));
  await new Promise((res, rej) => {
    const started = Date.now();
    const t = setInterval(() => {
      if (out.includes("ready")) {
        clearInterval(t);
        res();
      } else if (Date.now() - started > 30_000) {
        clearInterval(t);
        child.kill("SIGKILL");
        rej(new Error(`process not ready after 30 s:\n${out}`));
      }
    }, 10);
    void exited.then((code) => {
      clearInterval(t);
      rej(new Error(`process exited with ${code} before it was ready:\n${out}`));
    });
  });
  return { child, exited, output: () => out };
}

async function stopAll(procs) {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill("SIGTERM");
  await Promise.all(procs.map((p) => Promise.race([p.exited, new Promise((r) => setTimeout(r, 5000))])));
  for (const p of procs) if (p.child.exitCode === null) p.child.kill("SIGKILL");
}

const CLK_TCK = 100; // Linux USER_HZ
/** CPU seconds (user + system) a process has used so far, from /proc. */
function procCpu(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
}

/** Redis-side counters: CPU seconds of the server and calls per command. */
async function redisCounters(r) {
  const cpu = await r.info("cpu");
  const get = (k) => Number(new RegExp(`${k}:([0-9.]+)`).exec(cpu)?.[1] ?? 0);
  const calls = {};
  for (const m of (await r.info("commandstats")).matchAll(/cmdstat_([^:]+):calls=(\d+),usec=(\d+)/g)) calls[m[1]] = { calls: Number(m[2]), usec: Number(m[3]) };
  const net = Number(/total_net_input_bytes:(\d+)/.exec(await r.info("stats"))?.[1] ?? 0);
  return { cpu: get("used_cpu_user") + get("used_cpu_sys"), calls, net };
}

/**
 * Resource use summed over measured sections (`section(fn)` runs one; `fn` returns the CPU ms its driver,
 * the coordinator or producer, used): CPU of the driver and of the given worker processes, Redis CPU and
 * commands; `perJob(n)` divides.
 */
function meter(r, workerPids) {
  const sum = { self: 0, workers: 0, redisCpu: 0, net: 0, calls: {} };
  const m = {
    async section(fn) {
      const before = { redis: await redisCounters(r), workers: workerPids.map(procCpu) };
      const out = await fn();
      sum.workers += workerPids.map(procCpu).reduce((s, c, i) => s + c - before.workers[i], 0);
      sum.self += out.cpuMs / 1000;
      const after = await redisCounters(r);
      sum.redisCpu += after.cpu - before.redis.cpu;
      sum.net += after.net - before.redis.net;
      for (const [name, v] of Object.entries(after.calls)) {
        const c = (sum.calls[name] ??= { calls: 0, usec: 0 });
        c.calls += v.calls - (before.redis.calls[name]?.calls ?? 0);
        c.usec += v.usec - (before.redis.calls[name]?.usec ?? 0);
      }
      return out;
    },
    async perJob(jobs) {
      const cmds = Object.entries(sum.calls)
        .map(([name, v]) => [name, v.calls, v.usec])
        .filter(([, c]) => c > 0)
        .sort((a, b) => b[1] - a[1]);
      const total = cmds.reduce((s, [, c]) => s + c, 0);
      return {
        cpuMsPerJob: { coordinator: r4((sum.self * 1000) / jobs), workers: r4((sum.workers * 1000) / jobs), redis: r4((sum.redisCpu * 1000) / jobs) },
        redisCommandsPerJob: r2(total / jobs),
        bytesIntoRedisPerJob: Math.round(sum.net / jobs),
        redisUsecPerJob: r2(cmds.reduce((s, [, , u]) => s + u, 0) / jobs),
        topCommandsPerJob: Object.fromEntries(cmds.slice(0, 8).map(([n, c]) => [n, r2(c / jobs)])),
      };
    },
  };
  return m;
}

/** Times `fn` sequentially (no overlap), `n` times; mean ms per call. */
async function timeEach(n, fn) {
  await fn(-1);
  const t = performance.now();
  for (let i = 0; i < n; i++) await fn(i);
  return r4((performance.now() - t) / n);
}

export async function run({ log }) {
  const { PluginRegistry, corePlugin, loadPipelineText, silentLogger } = await import("@latentflow/core");
  const { keyForNode, runStep } = await import("@latentflow/core/engine");
  const { plugin: contractPlugin } = await import("@latentflow/contract-tests/plugin");
  const { RedisArtifactStore, RedisRunStore, redisOptions } = await import("@latentflow/queue");
  const require = createRequire(import.meta.url);
  const queueDir = dirname(require.resolve("@latentflow/queue/package.json"));
  const workerMain = join(queueDir, "dist/worker/main.js");
  const self = fileURLToPath(import.meta.url);

  const prefix = `lfbench-fleet-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const dir = await mkdtemp(join(tmpdir(), "lf-bench-fleet-"));
  const registry = new PluginRegistry([corePlugin, contractPlugin]);
  const connection = redisOptions(REDIS_URL);
  const raw = new Redis(REDIS_URL);
  let nonce = 0;
  // Fresh params on every pipeline: nothing is ever cached, every step runs and stores its artifact.
  const pipeline = (n) => {
    const base = (process.pid * 10_000 + ++nonce) * 1_000;
    const lines = Array.from({ length: n }, (_, i) => `  s${i}: { uses: contract/numbers, with: { n: 1, start: ${base + i} } }`);
    return loadPipelineText(`version: 1\nsteps:\n${lines.join("\n")}\n`, join(dir, "pipeline.yaml"), registry, dir);
  };
  const procs = [];
  const closers = [];
  const result = {
    redis: REDIS_URL.replace(/\/\/[^@]*@/, "//"),
    steps: STEPS,
    concurrencyPerWorker: CONCURRENCY,
    method: `ours and the peer alike, both fleets up at once and their batches alternating: ${WARMUP_BATCHES} × ${WARMUP} warm-up jobs through freshly started worker processes (untimed; the first batch is reported as 'cold'), then ${TIMED} timed batches of ${STEPS} jobs each; the median batch's wall time gives jobs/s and its jobs the latencies; CPU and Redis commands are per job over all ${TIMED} batches`,
    ours: {},
    bullmq: {},
    dispatchLatencyMs: {},
    idle: {},
    cold: {},
    waitingSteps: {},
  };

  try {
    const redisInfo = await raw.info("server");
    result.redisVersion = /redis_version:(\S+)/.exec(redisInfo)?.[1];
    const store = new RedisArtifactStore({ redis: REDIS_URL, prefix });
    closers.push(() => store.close());
    const readQueue = new Queue("default", { connection, prefix });
    closers.push(() => readQueue.close());

    let finalRecord;
    const jobsOf = async (queue, pred) => (await queue.getJobs(["completed"], 0, -1)).filter((j) => pred(j.id));

    // ---------- ours and the peer, interleaved ----------
    // For each worker count both fleets are up at once (the idle one waits in a blocking read, costing
    // nothing) and batches alternate, ours then the peer's, then the peer's then ours, so drift in what the
    // machine is doing (other processes, CPU frequency, Redis memory) falls on both alike. Each side's
    // coordinating process is a driver process of its own.
    for (const workers of [1, 2]) {
      const oursProcs = await Promise.all(
        Array.from({ length: workers }, () => spawnReady([workerMain, "--redis", REDIS_URL, "--prefix", prefix, "--plugins", "@latentflow/contract-tests/plugin", "--concurrency", String(CONCURRENCY)], queueDir)),
      );
      const qname = `bullmq-${workers}w`;
      const peerProcs = await Promise.all(Array.from({ length: workers }, () => spawnReady([self, "--bullmq-worker", REDIS_URL, prefix, qname, String(CONCURRENCY)], dirname(self))));
      const ours = await startDriver(self, ["--ours-driver", REDIS_URL, prefix, dir]);
      const peer = await startDriver(self, ["--peer-driver", REDIS_URL, prefix, dir, qname]);
      procs.push(...oursProcs, ...peerProcs, ours, peer);
      const queue = new Queue(qname, { connection, prefix });
      closers.push(() => queue.close());

      // Warm-up, the same for both: the first batch through fresh processes is kept as the cold figure.
      for (let k = 0; k < WARMUP_BATCHES; k++) {
        const o = await ours.call("batch", { n: WARMUP });
        const b = await peer.call("batch", { tag: `warm${k}`, n: WARMUP });
        if (k === 0) result.cold[`${workers}w`] = { ours: r2((WARMUP * 1000) / o.wallMs), bullmq: r2((WARMUP * 1000) / b.wallMs), ratio: r2(b.wallMs / o.wallMs) };
      }

      const oursUse = meter(raw, oursProcs.map((p) => p.child.pid));
      const peerUse = meter(raw, peerProcs.map((p) => p.child.pid));
      const oursRuns = [];
      const peerRuns = [];
      for (let k = 0; k < TIMED; k++) {
        for (const side of k % 2 === 0 ? ["ours", "peer"] : ["peer", "ours"]) {
          if (side === "ours") oursRuns.push(await oursUse.section(() => ours.call("batch", { n: STEPS })));
          else peerRuns.push(await peerUse.section(async () => ({ tag: `run${k}`, ...(await peer.call("batch", { tag: `run${k}`, n: STEPS })) })));
        }
      }

      // ours
      {
        const usage = await oursUse.perJob(TIMED * STEPS);
        const counts = {};
        for (const r of oursRuns) {
          for (const [label, c] of Object.entries(r.counts)) {
            const t = (counts[label] ??= { calls: 0, summedMs: 0 });
            t.calls += c.calls;
            t.summedMs += c.summedMs;
          }
        }
        const walls = oursRuns.map((r) => r.wallMs);
        const wallMs = pct(walls, 50);
        const { record: rec, ends: endList, t0 } = oursRuns[walls.indexOf(wallMs)];
        const ends = new Map(endList);
        finalRecord = rec;
        result.ours[`${workers}w_record`] = { recordBytes: JSON.stringify(rec).length, saves: r2((counts["RedisRunStore.save"]?.calls ?? 0) / TIMED) };
        const jobs = await jobsOf(readQueue, (id) => id.startsWith(`${rec.id}.`));
        if (jobs.length !== STEPS) throw new Error(`read back ${jobs.length} jobs of ${STEPS}`);
        const dispatch = jobs.map((j) => j.processedOn - j.timestamp);
        const processing = jobs.map((j) => j.finishedOn - j.processedOn);
        const notice = jobs.map((j) => ends.get(j.id.slice(rec.id.length + 1)) - j.finishedOn);
        const enqueuedBy = Math.max(...jobs.map((j) => j.timestamp)) - t0;
        const jobsPerS = r2((STEPS * 1000) / wallMs);
        result.ours[`${workers}w`] = {
          workers,
          wallMs,
          jobsPerS,
          runWallsMs: walls,
          lastJobEnqueuedAfterMs: enqueuedBy,
          perJobMs: { enqueueToStart: stats(dispatch), workerProcessing: stats(processing), finishToCoordinatorStepEnd: stats(notice) },
          coordinatorCalls: Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, { perStep: r2(v.calls / (TIMED * STEPS)), summedLatencyMsPerStep: r2(v.summedMs / (TIMED * STEPS)) }])),
          ...usage,
        };
        result.dispatchLatencyMs[`ours_${workers}w`] = stats(dispatch);
        log(`ours, ${workers} worker(s) × ${CONCURRENCY}: ${STEPS} steps in ${wallMs} ms (median of ${walls.join(", ")}) → ${jobsPerS} jobs/s; enqueue→start p50 ${pct(dispatch, 50)} ms p99 ${pct(dispatch, 99)} ms; worker processing p50 ${pct(processing, 50)} ms`);
        log(`   per job: ${usage.redisCommandsPerJob} Redis commands, CPU ms coordinator ${usage.cpuMsPerJob.coordinator} / workers ${usage.cpuMsPerJob.workers} / redis ${usage.cpuMsPerJob.redis}`);
      }
      // the peer
      {
        const usage = await peerUse.perJob(TIMED * STEPS);
        const walls = peerRuns.map((r) => r.wallMs);
        const wallMs = pct(walls, 50);
        const { tag } = peerRuns[walls.indexOf(wallMs)];
        const jobs = await jobsOf(queue, (id) => id.startsWith(`${tag}.`));
        if (jobs.length !== STEPS) throw new Error(`read back ${jobs.length} BullMQ jobs of ${STEPS}`);
        const dispatch = jobs.map((j) => j.processedOn - j.timestamp);
        const jobsPerS = r2((STEPS * 1000) / wallMs);
        result.bullmq[`${workers}w`] = {
          workers,
          wallMs,
          jobsPerS,
          batchWallsMs: walls,
          batchesEndedBySafetyPoll: peerRuns.filter((r) => r.heardByPoll).length,
          firstToLastEnqueueMs: Math.max(...jobs.map((j) => j.timestamp)) - Math.min(...jobs.map((j) => j.timestamp)),
          perJobMs: { enqueueToStart: stats(dispatch), workerProcessing: stats(jobs.map((j) => j.finishedOn - j.processedOn)) },
          ...usage,
        };
        result.dispatchLatencyMs[`bullmq_${workers}w`] = stats(dispatch);
        log(`BullMQ, ${workers} worker(s) × ${CONCURRENCY}: ${STEPS} no-op jobs in ${wallMs} ms (median of ${walls.join(", ")}) → ${jobsPerS} jobs/s; enqueue→start p50 ${pct(dispatch, 50)} ms p99 ${pct(dispatch, 99)} ms`);
        log(`   per job: ${usage.redisCommandsPerJob} Redis commands, CPU ms coordinator ${usage.cpuMsPerJob.coordinator} / workers ${usage.cpuMsPerJob.workers} / redis ${usage.cpuMsPerJob.redis}`);
      }
      const cold = result.cold[`${workers}w`];
      log(`   cold (first batch through fresh processes): ours ${cold.ours} vs BullMQ ${cold.bullmq} jobs/s (×${cold.ratio})`);

      // Steps that do something (here: wait WAIT_MS each, as a step waiting on I/O would): throughput is then
      // set by the workers' slots, and a second worker process should double it, ours and BullMQ's alike.
      {
        const o = [];
        const b = [];
        for (let k = 0; k < WAIT_BATCHES; k++) {
          o.push((await ours.call("batch", { n: WAIT_STEPS, sleepMs: WAIT_MS })).wallMs);
          b.push((await peer.call("batch", { tag: `wait${k}`, n: WAIT_STEPS, sleepMs: WAIT_MS })).wallMs);
        }
        const row = { ours: r2((WAIT_STEPS * 1000) / pct(o, 50)), bullmq: r2((WAIT_STEPS * 1000) / pct(b, 50)), ceiling: (workers * CONCURRENCY * 1000) / WAIT_MS };
        row.ratio = r2(row.ours / row.bullmq);
        result.waitingSteps[`${workers}w`] = row;
        log(`   steps that wait ${WAIT_MS} ms: ours ${row.ours} vs BullMQ ${row.bullmq} jobs/s (×${row.ratio}; the slots allow ${row.ceiling})`);
      }

      if (workers === 1) {
        // Idle fleet: one step in flight at a time, so enqueue→start is pure dispatch, not queueing.
        const idle = await ours.call("batch", { n: IDLE_STEPS, concurrency: 1 });
        const ij = await jobsOf(readQueue, (id) => id.startsWith(`${idle.record.id}.`));
        const d = ij.map((j) => j.processedOn - j.timestamp);
        result.idle.ours_1w = { steps: IDLE_STEPS, roundTripMsPerStep: r2(idle.wallMs / IDLE_STEPS), enqueueToStart: stats(d), workerProcessing: stats(ij.map((j) => j.finishedOn - j.processedOn)) };
        log(`ours, idle (1 in flight): ${r2(idle.wallMs / IDLE_STEPS)} ms per step round trip; enqueue→start p50 ${pct(d, 50)} ms p99 ${pct(d, 99)} ms`);
        const peerIdle = await peer.call("idle", { n: IDLE_STEPS });
        const pd = (await jobsOf(queue, (id) => id.startsWith("idle."))).map((j) => j.processedOn - j.timestamp);
        result.idle.bullmq_1w = { jobs: IDLE_STEPS, roundTripMsPerJob: r2(peerIdle.wallMs / IDLE_STEPS), enqueueToStart: stats(pd) };
        log(`BullMQ, idle (1 in flight): ${r2(peerIdle.wallMs / IDLE_STEPS)} ms per job round trip; enqueue→start p50 ${pct(pd, 50)} ms p99 ${pct(pd, 99)} ms`);

        // How throughput scales with the number of steps in a run, with the run record saved to Redis (as
        // shipped) and with a run store that drops records (isolates the cost of the record writes).
        result.scaling1w = [];
        for (const n of SCALING) {
          const row = { steps: n };
          row.jobsPerS = r2((n * 1000) / (await ours.call("batch", { n })).wallMs);
          row.jobsPerSWithoutRunRecordWrites = r2((n * 1000) / (await ours.call("batch", { n, noRecordWrites: true })).wallMs);
          result.scaling1w.push(row);
          log(`ours, 1 worker, ${n} steps: ${row.jobsPerS} jobs/s; without run-record writes ${row.jobsPerSWithoutRunRecordWrites} jobs/s`);
        }
      }
      await Promise.all([ours.call("close"), peer.call("close")]);
      await stopAll([...oursProcs, ...peerProcs, ours, peer]);
    }

    // ---------- where our time goes: each operation of a step, timed alone (sequential, nothing overlapping) ----------
    const plan = pipeline(300);
    const nodes = plan.nodes;
    const timedStore = new Proxy(store, {
      get(t, p) {
        const v = Reflect.get(t, p);
        if (p !== "stat" && p !== "put") return typeof v === "function" ? v.bind(t) : v;
        return async (...a) => {
          const s = performance.now();
          try {
            return await v.apply(t, a);
          } finally {
            split[p] += performance.now() - s;
          }
        };
      },
    });
    const split = { stat: 0, put: 0 };
    const env = () => ({ store: timedStore, runId: "bench", seed: "s", baseDir: dir, signal: new AbortController().signal, log: silentLogger, force: false, concurrency: 1 });
    await runStep(nodes[299], {}, env(0)); // warm-up
    split.stat = split.put = 0;
    const n = 200;
    const t = performance.now();
    for (let i = 0; i < n; i++) await runStep(nodes[i], {}, env(i));
    const runStepMs = (performance.now() - t) / n;
    const runs = new RedisRunStore(REDIS_URL, prefix);
    closers.push(() => runs.close());
    const bigRecord = { ...finalRecord, id: "bench-record" };
    const { initialRecord } = await import("@latentflow/core/engine");
    const recPlan = pipeline(STEPS);
    const smallRecord = initialRecord(recPlan, "bench-record-0", "queue", new Set(recPlan.nodes.map((x) => x.id)));
    const probe = new Queue("probe", { connection, prefix });
    closers.push(() => probe.close());
    const probeJob = await probe.add("p", { x: 1 }, { jobId: "probe-job" });
    const sample = store.stat.bind(store);
    const someKey = (await store.put("ab".repeat(16), "json", { "value.json": new TextEncoder().encode("1") })).key;
    const ops = {
      "worker: runStep total (key, cache lookup, scratch dir, step, encode, store.put)": r4(runStepMs),
      "worker:   of which store.stat (cache lookup, 1 GET)": r4(split.stat / n),
      "worker:   of which store.put (stat + chunk SET pipeline + commit script)": r4(split.put / n),
      "worker:   of which everything else (key hash, mkdtemp/rm scratch dir, step call, codec)": r4(runStepMs - (split.stat + split.put) / n),
      "worker: keyForNode alone": await timeEach(200, (i) => keyForNode(nodes[Math.max(0, i)], {}, dir)),
      "worker: mkdtemp + rm of a scratch dir": await timeEach(200, async () => rm(await mkdtemp(join(tmpdir(), "lf-bench-")), { recursive: true, force: true })),
      "worker: runs.isCancelled (1 EXISTS)": await timeEach(200, () => runs.isCancelled("nope")),
      "worker: job.updateProgress (start event)": await timeEach(200, (i) => probeJob.updateProgress({ kind: "start", attempt: i })),
      "coordinator: Job.fromId of a job not yet added": await timeEach(200, (i) => Job.fromId(probe, `absent-${i}`)),
      "coordinator: queue.add": await timeEach(200, (i) => probe.add("p", { i }, { jobId: `probe-${i}`, removeOnComplete: true })),
      "coordinator: getJobState + Job.fromId (settle)": await timeEach(200, async () => {
        await probe.getJobState("probe-job");
        await Job.fromId(probe, "probe-job");
      }),
      "coordinator: store.stat of an output": await timeEach(200, () => sample(someKey)),
      [`coordinator: JSON snapshot of the ${STEPS}-step run record at its start (${JSON.stringify(smallRecord).length} B), no Redis`]: await timeEach(100, () => JSON.parse(JSON.stringify(smallRecord))),
      [`coordinator: JSON snapshot of the finished ${STEPS}-step run record (${JSON.stringify(bigRecord).length} B), no Redis`]: await timeEach(100, () => JSON.parse(JSON.stringify(bigRecord))),
      [`coordinator: snapshot + RedisRunStore.save of the record at its start (done twice per step)`]: await timeEach(100, () => runs.save(JSON.parse(JSON.stringify(smallRecord)))),
      [`coordinator: snapshot + RedisRunStore.save of the finished record (done twice per step)`]: await timeEach(100, () => runs.save(JSON.parse(JSON.stringify(bigRecord)))),
    };
    result.perOperationMs = ops;
    log("per operation, each timed alone (ms):");
    for (const [k, v] of Object.entries(ops)) log(`   ${v.toFixed(3).padStart(8)}  ${k}`);

    // ---------- where the time goes (all from the measurements above) ----------
    const o = result.ours["1w"];
    const b = result.bullmq["1w"];
    const saveAt = (which) => ops[Object.keys(ops).find((k) => k.startsWith(`coordinator: snapshot + RedisRunStore.save of the ${which}`))];
    const snapAt = (which) => ops[Object.keys(ops).find((k) => k.startsWith(`coordinator: JSON snapshot of the ${STEPS}-step run record ${which}`) || k.startsWith(`coordinator: JSON snapshot of the ${which}`))];
    // The record grows about linearly from its start to its finished size over the run: mean of the two ends.
    const perSaveMs = (saveAt("record at its start") + saveAt("finished record")) / 2;
    const perSnapMs = (snapAt("at its start") + snapAt("finished")) / 2;
    const savesMs = result.ours["1w_record"].saves * perSaveMs;
    const last = result.scaling1w.at(-1);
    result.breakdown = {
      workers: 1,
      wallMsOursVsBullmq: [o.wallMs, b.wallMs],
      cpuMsPerJob: { ours: o.cpuMsPerJob, bullmq: b.cpuMsPerJob },
      redisCommandsPerJob: { ours: o.redisCommandsPerJob, bullmq: b.redisCommandsPerJob },
      bytesIntoRedisPerJob: { ours: o.bytesIntoRedisPerJob, bullmq: b.bytesIntoRedisPerJob },
      runRecordWrites: {
        saves: result.ours["1w_record"].saves,
        finishedRecordBytes: result.ours["1w_record"].recordBytes,
        msPerSaveMeanOfStartAndFinished: r4(perSaveMs),
        ofWhichJsonSnapshotMs: r4(perSnapMs),
        estimatedMsPerRun: Math.round(savesMs),
        estimatedShareOfWall: r2(savesMs / o.wallMs),
        note: "saves are chained one after another in the coordinator and the run ends only after the last one",
      },
      jobsPerSWithoutRunRecordWrites: Object.fromEntries(result.scaling1w.map((r) => [r.steps, [r.jobsPerS, r.jobsPerSWithoutRunRecordWrites]])),
      workerMsPerStepAlone: r2(Object.entries(ops).filter(([k]) => /^worker: (runStep total|runs\.isCancelled|job\.updateProgress)/.test(k)).reduce((s, [, v]) => s + v, 0)),
      coordinatorRoundTripsPerStep: Object.fromEntries(Object.entries(o.coordinatorCalls).map(([k, v]) => [k, v.perStep])),
    };
    log(`breakdown (1 worker): coordinator CPU ${o.cpuMsPerJob.coordinator} ms/job vs BullMQ's ${b.cpuMsPerJob.coordinator}; ${o.redisCommandsPerJob} vs ${b.redisCommandsPerJob} Redis commands/job; ${o.bytesIntoRedisPerJob} vs ${b.bytesIntoRedisPerJob} bytes into Redis/job`);
    log(`   run record: ${result.ours["1w_record"].saves} saves of up to ${result.ours["1w_record"].recordBytes} bytes ≈ ${Math.round(savesMs)} ms (${r4(perSaveMs)} ms each, measured alone) of a ${o.wallMs} ms run; ${last.steps} steps: ${last.jobsPerS} jobs/s, ${last.jobsPerSWithoutRunRecordWrites} without record writes`);

    // ---------- target ----------
    const ratios = {};
    for (const w of ["1w", "2w"]) ratios[w] = r2(result.ours[w].jobsPerS / result.bullmq[w].jobsPerS);
    result.oursOverBullmq = ratios;
    result.targets = ["1w", "2w"].map((w) => ({
      description: `ours ≥ 0.5 × plain BullMQ jobs/s with ${w[0]} worker process(es) × concurrency ${CONCURRENCY}`,
      value: `${result.ours[w].jobsPerS} vs ${result.bullmq[w].jobsPerS} jobs/s (×${ratios[w]})`,
      met: ratios[w] >= 0.5,
    }));
    return result;
  } finally {
    await stopAll(procs);
    for (const c of closers.reverse()) await Promise.resolve().then(c).catch(() => {});
    const removed = await dropPrefix(REDIS_URL, prefix);
    log(`removed ${removed} keys under ${prefix}:*`);
    raw.disconnect();
    await rm(dir, { recursive: true, force: true });
  }
}
