import cliProgress from "cli-progress";
import type { RunEvent } from "@latentflow/core";

export type OutputMode = "tty" | "plain" | "json";

/** `12.3/s · ETA 41 s` from the first progress event of a step to this one; empty until there is a rate. */
export function rateAndEta(done: number, total: number, elapsedMs: number): string {
  if (done <= 0 || elapsedMs <= 0) return "";
  const perSecond = (done * 1000) / elapsedMs;
  const rate = perSecond >= 100 ? perSecond.toFixed(0) : perSecond >= 10 ? perSecond.toFixed(1) : perSecond.toFixed(2);
  if (done >= total) return `${rate}/s`;
  return `${rate}/s · ETA ${duration((total - done) / perSecond)}`;
}

function duration(seconds: number): string {
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

/** When each step's progress began, so rates count only its own work. */
function clock(): (stepId: string, done: number) => number {
  const first = new Map<string, { t: number; done: number }>();
  return (stepId, done) => {
    const now = performance.now();
    const f = first.get(stepId);
    if (!f || done < f.done) {
      first.set(stepId, { t: now, done });
      return 0;
    }
    return now - f.t;
  };
}

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
    const elapsed = clock();
    const base = new Map<string, number>();
    return {
      onEvent(e) {
        if (e.type === "step-start" && e.attempt === 1) out.write(`[${e.stepId}] started\n`);
        else if (e.type === "step-start") out.write(`[${e.stepId}] attempt ${e.attempt}\n`);
        else if (e.type === "step-retry") out.write(`[${e.stepId}] attempt ${e.attempt} failed (${e.error}); retrying in ${e.delayMs} ms\n`);
        else if (e.type === "step-progress" && e.total) {
          const ms = elapsed(e.stepId, e.done);
          if (ms === 0) base.set(e.stepId, e.done);
          // A line per 10 % keeps CI logs readable.
          const pct = Math.floor((10 * e.done) / e.total) * 10;
          if (pct > (lastPct.get(e.stepId) ?? -1)) {
            lastPct.set(e.stepId, pct);
            const speed = rateAndEta(e.done - (base.get(e.stepId) ?? 0), e.total - (base.get(e.stepId) ?? 0), ms);
            out.write(`[${e.stepId}] ${e.done}/${e.total}${e.message ? ` ${e.message}` : ""}${speed ? ` · ${speed}` : ""}\n`);
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
    { format: " {step} |{bar}| {percentage}% {value}/{total} {note}{speed}", hideCursor: true, clearOnComplete: false, stream: out },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, cliProgress.SingleBar>();
  const bar = (id: string, total = 1) => {
    let b = bars.get(id);
    if (!b) {
      b = multi.create(total, 0, { step: id.padEnd(14), note: "", speed: "" });
      bars.set(id, b);
    }
    return b;
  };
  const elapsed = clock();
  const base = new Map<string, number>();
  return {
    onEvent(e) {
      if (e.type === "step-start") bar(e.stepId).update({ note: e.attempt > 1 ? `attempt ${e.attempt}` : "running" });
      else if (e.type === "step-progress" && e.total) {
        const b = bar(e.stepId, e.total);
        const ms = elapsed(e.stepId, e.done);
        if (ms === 0) base.set(e.stepId, e.done);
        const from = base.get(e.stepId) ?? 0;
        const speed = rateAndEta(e.done - from, e.total - from, ms);
        b.setTotal(e.total);
        b.update(e.done, { note: e.message ?? "", speed: speed ? ` · ${speed}` : "" });
      } else if (e.type === "step-end") {
        const b = bar(e.stepId);
        const r = e.record;
        b.update(b.getTotal(), { speed: "", note: r.status === "succeeded" ? (r.cache === "hit" ? "cached" : `done ${((r.durationMs ?? 0) / 1000).toFixed(1)} s`) : r.status });
      }
    },
    stop() {
      multi.stop();
    },
  };
}
