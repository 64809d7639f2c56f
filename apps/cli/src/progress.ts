import cliProgress from "cli-progress";
import type { RunEvent } from "@latentflow/core";

export type OutputMode = "tty" | "plain" | "json";

/** Turns run events into progress bars (terminal), plain lines (logs, CI) or NDJSON (`--json`). */
export function createReporter(mode: OutputMode, writeJson: (s: string) => void, out: NodeJS.WriteStream = process.stderr): { onEvent(e: RunEvent): void; stop(): void } {
  if (mode === "json") {
    return {
      onEvent(e) {
        writeJson(`${JSON.stringify(e)}\n`);
      },
      stop() {},
    };
  }
  if (mode === "plain") {
    const lastPct = new Map<string, number>();
    return {
      onEvent(e) {
        if (e.type === "step-start" && e.attempt === 1) out.write(`[${e.stepId}] started\n`);
        else if (e.type === "step-start") out.write(`[${e.stepId}] attempt ${e.attempt}\n`);
        else if (e.type === "step-retry") out.write(`[${e.stepId}] attempt ${e.attempt} failed (${e.error}); retrying in ${e.delayMs} ms\n`);
        else if (e.type === "step-progress" && e.total) {
          // A line per 10 % keeps CI logs readable.
          const pct = Math.floor((10 * e.done) / e.total) * 10;
          if (pct > (lastPct.get(e.stepId) ?? -1)) {
            lastPct.set(e.stepId, pct);
            out.write(`[${e.stepId}] ${e.done}/${e.total}${e.message ? ` ${e.message}` : ""}\n`);
          }
        } else if (e.type === "step-end") {
          const r = e.record;
          const extra = r.status === "succeeded" ? `${r.cache === "hit" ? "cached" : "computed"}${r.shards ? `, ${r.shards.count} shards (${r.shards.fromCache} cached)` : ""}${r.skipped.length ? `, ${r.skipped.length} items skipped` : ""}` : r.error?.message ?? "";
          out.write(`[${e.stepId}] ${r.status} in ${((r.durationMs ?? 0) / 1000).toFixed(2)} s (${extra})\n`);
        }
      },
      stop() {},
    };
  }
  const multi = new cliProgress.MultiBar(
    { format: " {step} |{bar}| {percentage}% {value}/{total} {note}", hideCursor: true, clearOnComplete: false, stream: out },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, cliProgress.SingleBar>();
  const bar = (id: string, total = 1) => {
    let b = bars.get(id);
    if (!b) {
      b = multi.create(total, 0, { step: id.padEnd(14), note: "" });
      bars.set(id, b);
    }
    return b;
  };
  return {
    onEvent(e) {
      if (e.type === "step-start") bar(e.stepId).update({ note: e.attempt > 1 ? `attempt ${e.attempt}` : "running" });
      else if (e.type === "step-progress" && e.total) {
        const b = bar(e.stepId, e.total);
        b.setTotal(e.total);
        b.update(e.done, { note: e.message ?? "" });
      } else if (e.type === "step-end") {
        const b = bar(e.stepId);
        const r = e.record;
        b.update(b.getTotal(), { note: r.status === "succeeded" ? (r.cache === "hit" ? "cached" : `done ${((r.durationMs ?? 0) / 1000).toFixed(1)} s`) : r.status });
      }
    },
    stop() {
      multi.stop();
    },
  };
}
