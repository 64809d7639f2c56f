import { constants } from "node:os";

/**
 * Wires SIGINT and SIGTERM for a long-running command: the first calls `graceful` (cancel the run, finish the
 * running jobs), a second ends the process at once with 128 + the signal's number, whatever the first is
 * still waiting for (a Redis that went away). Returns a function that removes the handlers.
 */
export function onStopSignals(graceful: (signal: NodeJS.Signals) => void, say: (s: string) => void): () => void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      say(`${signal} again: exiting now\n`);
      process.exit(128 + (constants.signals[signal] ?? 15));
    }
    stopping = true;
    graceful(signal);
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return () => {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  };
}
