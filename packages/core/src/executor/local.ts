import { availableParallelism } from "node:os";
import { LatentflowError } from "../errors.js";
import { ResourceCache } from "../resources.js";
import type { ArtifactManifest } from "../store/artifact-store.js";
import { errorRecord } from "./error-record.js";
import { runPlan, type StepLauncher } from "./engine.js";
import { silentLogger, type Executor, type RunOptions } from "./executor.js";
import { runStep } from "./step-runner.js";

/**
 * Runs a plan in this process: the engine (engine.ts) with a launcher that calls the step runner here.
 * Steps in dependency order, independent branches concurrently up to `concurrency` (default: the cores),
 * shards of a sharded step concurrently up to the same bound.
 */
export class LocalExecutor implements Executor {
  readonly name = "local";

  async run(plan: Parameters<Executor["run"]>[0], options: RunOptions) {
    const concurrency = Math.max(1, options.concurrency ?? availableParallelism());
    const log = options.log ?? silentLogger;
    const resources = options.resources ?? new ResourceCache();
    const launcher: StepLauncher = {
      async launch(node, inputs, hooks) {
        const manifests: Record<string, ArtifactManifest> = {};
        for (const [port, out] of Object.entries(inputs)) {
          const m = await options.store.stat(out.key);
          if (!m) throw new LatentflowError("E_ARTIFACT_MISSING", `input '${port}' of step '${node.id}': artifact ${out.key} is not in ${options.store.location}`);
          manifests[port] = m;
        }
        return runStep(node, manifests, {
          store: options.store,
          runId: hooks.runId,
          seed: plan.spec.seed,
          baseDir: plan.baseDir,
          signal: hooks.signal,
          log,
          force: options.force ?? false,
          concurrency,
          ...(options.scratchDir ? { scratchDir: options.scratchDir } : {}),
          resources,
          onProgress: hooks.onProgress,
          onRetry: (attempt, delayMs, error) => hooks.onRetry(attempt, delayMs, errorRecord(error).message),
          onAttempt: hooks.onAttempt,
        });
      },
    };
    try {
      return await runPlan(plan, options, { executor: this.name, launcher, concurrency });
    } finally {
      if (!options.resources) {
        await resources.dispose().catch((e: unknown) => log.warn(`freeing the run's resources failed: ${e instanceof Error ? e.message : String(e)}`));
      }
    }
  }
}
