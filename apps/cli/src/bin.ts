#!/usr/bin/env node
import { main } from "./cli.js";

// `latentflow plugins | head`: the reader leaving early is not an error of ours; stop quietly as cat does.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });
}

process.exitCode = await main(process.argv.slice(2));
