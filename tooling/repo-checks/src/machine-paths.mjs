#!/usr/bin/env node
// Finds absolute paths of one machine (a home folder, a checkout under /work, a temp file) written into
// tracked files: a clone anywhere else breaks on them. Prints each as file:line and exits 1 when any.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

// A path literal starting at a quote, backtick, parenthesis, equals sign or whitespace.
const PATTERN = /(?:^|["'`(=\s])(\/(?:work|workspace|home\/[a-z][\w.-]*|Users\/[\w.-]+|root)\/[\w.@+-]+)/g;
// In code, a temp path written out is one machine's too (use os.tmpdir()).
const TMP = /["'`](\/tmp\/[a-z][\w.@+-]*)/g;
const CODE = /^(packages|apps|tooling|examples)\/.*\.(ts|mts|js|mjs|cjs|json|yaml|yml|sh)$/;
const SKIP = /(^|\/)(pnpm-lock\.yaml|node_modules\/|dist\/|\.changeset\/.*\.md$|CHANGELOG\.md$)|\.(png|jpg|gz|wasm|onnx|bin|npy)$/;

/** Every machine path in the tracked files of the repository at `root`: [{ file, line, path }]. */
export function findMachinePaths(root) {
  const files = execFileSync("git", ["ls-files", "-z"], { cwd: root, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }).split("\0").filter(Boolean);
  const hits = [];
  for (const file of files) {
    if (SKIP.test(file)) continue;
    let text;
    try {
      text = readFileSync(`${root}/${file}`, "utf8");
    } catch {
      continue; // deleted in the working tree
    }
    if (text.includes("\0")) continue; // binary
    text.split("\n").forEach((line, i) => {
      for (const m of line.matchAll(PATTERN)) hits.push({ file, line: i + 1, path: m[1] });
      if (CODE.test(file)) for (const m of line.matchAll(TMP)) hits.push({ file, line: i + 1, path: m[1] });
    });
  }
  return hits;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = execFileSync("git", ["rev-parse", "--show-toplevel"], { encoding: "utf8" }).trim();
  const hits = findMachinePaths(root);
  for (const h of hits) console.log(`${h.file}:${h.line}: ${h.path}`);
  if (hits.length) {
    console.error(`${hits.length} absolute machine path(s): use paths relative to the file (import.meta.url) or the repository`);
    process.exit(1);
  }
  console.log("no absolute machine paths in tracked files");
}
