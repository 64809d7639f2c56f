#!/usr/bin/env node
// Runs every benchmark in ./benchmarks (or those named on the command line) and writes each result to
// ./results/<name>.json with the machine it ran on, so numbers are always read beside their peer and host.
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { availableParallelism, cpus, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const files = (await readdir(join(here, "benchmarks"))).filter((f) => f.endsWith(".mjs")).sort();
const machine = { cpu: cpus()[0]?.model, cores: availableParallelism(), memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version };
await mkdir(join(here, "results"), { recursive: true });
let failed = 0;
for (const f of files) {
  const name = f.replace(/\.mjs$/, "");
  if (wanted.length && !wanted.includes(name)) continue;
  console.log(`\n## ${name}`);
  const started = new Date().toISOString();
  try {
    const mod = await import(join(here, "benchmarks", f));
    const result = await mod.run({ log: (...a) => console.log(...a) });
    const out = { name, started, machine, ...result };
    await writeFile(join(here, "results", `${name}.json`), `${JSON.stringify(out, null, 2)}\n`);
    console.log(`→ results/${name}.json`);
    if (result.targets) {
      for (const t of result.targets) console.log(`   target ${t.met ? "MET " : "MISSED"}: ${t.description} (${t.value})`);
    }
  } catch (e) {
    failed++;
    console.error(`benchmark ${name} failed:`, e);
  }
}
process.exitCode = failed ? 1 : 0;
