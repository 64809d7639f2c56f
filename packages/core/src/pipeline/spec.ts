import { type CST, LineCounter, Parser, isMap, isScalar, isSeq, parseDocument, type Node as YamlNode, type Pair, type YAMLMap } from "yaml";
import { LatentflowError, type SourceLocation } from "../errors.js";

/** What to do with an item a step cannot process. */
export type OnError = "fail" | "skip";

/** An input wired from another step's output: `in: { port: step }` or `step.port`. */
export interface InputRef {
  step: string;
  port?: string;
  loc: SourceLocation;
}

/** One step as written in the pipeline file (before plugins are consulted). */
export interface StepSpec {
  id: string;
  uses: string;
  with: Record<string, unknown>;
  in: Record<string, InputRef>;
  /** `loc` points at the `shard` key. */
  shard?: { size: number; loc: SourceLocation };
  retries: number;
  /** Milliseconds; undefined means no limit. */
  timeoutMs?: number;
  onError: OnError;
  loc: SourceLocation;
  usesLoc: SourceLocation;
  /** Location of each value under `with`, for errors about one param's value. */
  paramLocs: Record<string, SourceLocation>;
  /** Location of each key under `with`, for errors about the param's name. */
  paramKeyLocs?: Record<string, SourceLocation>;
  /** Location of each port key under `in`. */
  inLocs: Record<string, SourceLocation>;
  /** Location of the `with` key, where a missing param belongs. */
  withLoc?: SourceLocation;
  /** Location of the `in` key, where a missing input belongs. */
  inLoc?: SourceLocation;
}

/** A pipeline file, parsed. */
export interface PipelineSpec {
  version: 1;
  name: string;
  /** Absolute path of the file, or a label for text parsed from memory. */
  file: string;
  /** Plugin packages the file asks for, besides `core`. */
  plugins: { name: string; loc: SourceLocation }[];
  seed: string;
  steps: StepSpec[];
}

const TOP_KEYS = ["version", "name", "description", "plugins", "seed", "steps"];
const STEP_KEYS = ["uses", "with", "in", "shard", "retries", "timeout", "onError", "description"];
const ID = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const PLUGIN_NAME = /^(@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*$/;

/**
 * Bounds on a pipeline file, checked before the YAML document is built: a pipeline is a few kilobytes, so
 * these are far above any real one and far below what costs gigabytes or the stack.
 */
export const PIPELINE_LIMITS = {
  /** Largest file, in bytes (a 10,000-step pipeline is about 0.6 MB). */
  maxBytes: 2 * 1024 * 1024,
  /** Deepest nesting of mappings and lists. */
  maxDepth: 64,
  /** Most aliases (`*name`) in one file. */
  maxAliases: 1000,
} as const;

/**
 * The first limit of PIPELINE_LIMITS that `text` breaks, as a coded error, or undefined. Nesting and aliases are
 * counted on the parser's token tree, walked without recursion, so no input can overflow the stack here.
 * @internal
 */
export function checkPipelineLimits(text: string, file: string): LatentflowError | undefined {
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > PIPELINE_LIMITS.maxBytes) return tooLarge(file, bytes);
  const lc = new LineCounter();
  const where = (offset: number): SourceLocation => {
    const p = lc.linePos(offset);
    return { file, line: p.line, column: p.col };
  };
  let aliases = 0;
  const stack: { token: CST.Token | undefined; depth: number }[] = [];
  for (const token of new Parser(lc.addNewLine).parse(text)) stack.push({ token, depth: 0 });
  while (stack.length) {
    const { token, depth } = stack.pop()!;
    if (!token) continue;
    if (token.type === "alias" && ++aliases > PIPELINE_LIMITS.maxAliases) {
      return new LatentflowError("E_YAML_LIMIT", `expected at most ${PIPELINE_LIMITS.maxAliases} aliases in a pipeline file, found more`, {
        location: where(token.offset),
        hint: "write the values out, or share them with fewer anchors; this many aliases is the shape of an alias bomb",
        data: { limit: PIPELINE_LIMITS.maxAliases },
      });
    }
    if (token.type === "document") stack.push({ token: token.value, depth });
    else if (token.type === "block-map" || token.type === "block-seq" || token.type === "flow-collection") {
      if (depth + 1 > PIPELINE_LIMITS.maxDepth) {
        return new LatentflowError("E_YAML_LIMIT", `expected mappings and lists nested at most ${PIPELINE_LIMITS.maxDepth} deep in a pipeline file, found deeper nesting here`, {
          location: where(token.offset),
          hint: "a pipeline needs a few levels (steps → step → with → value); flatten this value",
          data: { limit: PIPELINE_LIMITS.maxDepth },
        });
      }
      for (const item of token.items as { key?: CST.Token | null; value?: CST.Token }[]) {
        if (item.key) stack.push({ token: item.key, depth: depth + 1 });
        stack.push({ token: item.value, depth: depth + 1 });
      }
    }
  }
  return undefined;
}

function tooLarge(file: string, bytes: number): LatentflowError {
  return new LatentflowError("E_YAML_LIMIT", `expected a pipeline file of at most ${PIPELINE_LIMITS.maxBytes} bytes, found ${bytes}`, {
    location: { file, line: 1, column: 1 },
    hint: "a pipeline names steps and small params; put data in files that steps read (core/read-jsonl, core/read-csv …)",
    data: { limit: PIPELINE_LIMITS.maxBytes, found: bytes },
  });
}

/** The coded error for a pipeline file of `bytes` bytes (known from its size on disk), or undefined. @internal */
export function checkPipelineSize(file: string, bytes: number): LatentflowError | undefined {
  return bytes > PIPELINE_LIMITS.maxBytes ? tooLarge(file, bytes) : undefined;
}

/** Parses "30s", "10m", "1h", "250ms" or a number of seconds into milliseconds. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === "number" && value > 0 && Number.isFinite(value)) return value * 1000;
  if (typeof value !== "string") return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/.exec(value.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
  return n > 0 ? n * unit : undefined;
}

/** Parses pipeline YAML keeping positions. Returns every structural problem, not just the first. */
export function parsePipeline(text: string, file: string): { spec?: PipelineSpec; errors: LatentflowError[] } {
  const { spec, errors } = parsePipelinePartial(text, file);
  return errors.length ? { errors } : { spec: spec!, errors };
}

/**
 * Like parsePipeline, but also returns the steps that did parse when others did not, so validation can
 * report the whole file's problems in one pass. `broken` lists ids of steps left out because they
 * could not be parsed; inputs naming them are already explained by their own errors.
 * @internal
 */
export function parsePipelinePartial(text: string, file: string): { spec?: PipelineSpec; errors: LatentflowError[]; broken: Set<string> } {
  const broken = new Set<string>();
  const limit = checkPipelineLimits(text, file);
  if (limit) return { errors: [limit], broken };
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: false, prettyErrors: false });
  const errors: LatentflowError[] = [];
  const at = (node: YamlNode | null | undefined | { range?: [number, number, number] | null }): SourceLocation => {
    const offset = node && "range" in node && node.range ? node.range[0] : 0;
    const p = lc.linePos(offset);
    return { file, line: p.line, column: p.col };
  };
  const err = (code: string, message: string, where: SourceLocation, hint?: string) =>
    errors.push(new LatentflowError(code, message, { location: where, ...(hint ? { hint } : {}) }));

  for (const e of doc.errors) {
    // With prettyErrors off, `linePos` is never set: the offset in `pos` is the only position there is.
    const message = e.message.split("\n")[0]!;
    const { offset, opener } = syntaxErrorOffset(text, e.pos[0], /end with an? [}\]]$/.test(message));
    const p = lc.linePos(offset);
    const closer = opener === "{" ? "}" : "]";
    err("E_YAML_SYNTAX", opener ? `'${opener}' opened here is never closed: expected '${closer}', found ${e.pos[0] >= text.trimEnd().length ? "the end of the file" : `line ${lc.linePos(e.pos[0]).line} still inside it`}` : message, { file, line: p.line, column: p.col },
      opener ? `add the closing '${closer}' at the end of the line, or write the value as an indented block` : "fix the YAML syntax; indentation and unclosed brackets are the usual causes");
  }
  if (errors.length) return { errors, broken };

  const root = doc.contents;
  if (!isMap(root)) {
    err("E_SPEC", `expected a mapping with 'version' and 'steps' at the top of the file, found ${root ? typeName(root) : "an empty document"}`, at(root), "start the file with 'version: 1' and a 'steps:' mapping");
    return { errors, broken };
  }
  const { pairs: top, suggested: topSuggested } = pairsByKey(root, "the top level", TOP_KEYS, err, at, "E_SPEC");

  const versionPair = top.get("version");
  const version = versionPair && isScalar(versionPair.value) ? versionPair.value.value : undefined;
  if (version !== 1) {
    err("E_SPEC", `expected 'version: 1', found ${versionPair ? JSON.stringify(version) : "no version"}`, versionPair ? at(versionPair.value as YamlNode) : at(root), "this engine reads version 1 pipeline files");
  }
  const namePair = top.get("name");
  const name = namePair && isScalar(namePair.value) ? String(namePair.value.value) : file.replace(/^.*\//, "").replace(/\.ya?ml$/, "");

  const plugins: PipelineSpec["plugins"] = [];
  const pluginsPair = top.get("plugins");
  if (pluginsPair) {
    if (!isSeq(pluginsPair.value)) {
      err("E_SPEC", "expected 'plugins' to be a list of package names", at(pluginsPair.value as YamlNode), "e.g. plugins: [\"@latentflow/indexers\"]");
    } else {
      for (const item of pluginsPair.value.items) {
        const v = isScalar(item) ? item.value : undefined;
        if (typeof v !== "string" || !PLUGIN_NAME.test(v)) {
          err("E_PLUGIN_NAME", `expected an npm package name in 'plugins', found ${JSON.stringify(v ?? null)}`, at(item as YamlNode), "pipeline files name installed packages only; paths and URLs are refused so a YAML file never makes the engine run arbitrary code");
        } else plugins.push({ name: v, loc: at(item as YamlNode) });
      }
    }
  }
  const seedPair = top.get("seed");
  const seed = seedPair && isScalar(seedPair.value) ? String(seedPair.value.value) : "0";

  const steps: StepSpec[] = [];
  const stepsPair = top.get("steps");
  if (!stepsPair && topSuggested.has("steps")) {
    // A misspelt 'steps' key was already reported with a did-you-mean; "missing 'steps'" would say the same twice.
  } else if (!stepsPair || !isMap(stepsPair.value)) {
    err("E_SPEC", stepsPair ? "expected 'steps' to be a mapping of step ids to steps" : "missing 'steps'", stepsPair ? at(stepsPair.value as YamlNode) : at(root), "steps:\n  my-step: { uses: core/read-jsonl, with: { path: data.jsonl } }");
  } else {
    const seen = new Map<string, SourceLocation>();
    for (const pair of stepsPair.value.items as Pair<YamlNode, YamlNode>[]) {
      const id = isScalar(pair.key) ? String(pair.key.value) : "";
      const loc = at(pair.key);
      if (!ID.test(id)) {
        err("E_STEP_ID", `expected a step id of letters, digits, '_' or '-', found ${JSON.stringify(id)}`, loc);
        broken.add(id);
        continue;
      }
      const first = seen.get(id);
      if (first) {
        err("E_DUPLICATE_ID", `step id '${id}' is used twice (first at line ${first.line})`, loc, "give each step a unique id; a second definition would silently replace the first");
        continue;
      }
      seen.set(id, loc);
      const step = parseStep(id, pair.value, loc, err, at);
      if (step) steps.push(step);
      else broken.add(id);
    }
  }
  if (!stepsPair || !isMap(stepsPair.value)) return { errors, broken };
  return { spec: { version: 1, name, file, plugins, seed, steps }, errors, broken };
}

/**
 * Where to report a YAML syntax error. The parser notices an unclosed `{` or `[` only where the next
 * block starts, lines later; the bracket that was never closed is what the user must fix. It also
 * reports indentation errors at column 1 of the line, before the token that is out of place.
 */
function syntaxErrorOffset(text: string, offset: number, unclosedFlow: boolean): { offset: number; opener?: "{" | "[" } {
  const open: { ch: "{" | "["; at: number }[] = [];
  let quote: string | undefined;
  for (let i = 0; i < offset && i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === "\\" && quote === '"') i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'") {
      if (i === 0 || /[\s,[{:]/.test(text[i - 1]!)) quote = c;
    } else if (c === "#" && (i === 0 || /\s/.test(text[i - 1]!))) {
      while (i < offset && text[i] !== "\n") i++;
    } else if (c === "{" || c === "[") open.push({ ch: c, at: i });
    else if ((c === "}" || c === "]") && open.length) open.pop();
  }
  const last = unclosedFlow ? open[open.length - 1] : undefined;
  if (last) return { offset: last.at, opener: last.ch };
  let o = offset;
  while (o < text.length && (text[o] === " " || text[o] === "\t")) o++;
  return { offset: o < text.length && text[o] !== "\n" ? o : offset };
}

type ErrFn = (code: string, message: string, where: SourceLocation, hint?: string) => void;
type AtFn = (node: YamlNode | null | undefined) => SourceLocation;

function typeName(node: unknown): string {
  if (isMap(node)) return "a mapping";
  if (isSeq(node)) return "a list";
  if (isScalar(node)) return JSON.stringify(node.value);
  return "nothing";
}

/** The pairs of a mapping by key; unknown keys are reported, and their did-you-mean targets returned. */
function pairsByKey(map: YAMLMap, where: string, allowed: string[], err: ErrFn, at: AtFn, code: string): { pairs: Map<string, Pair<YamlNode, YamlNode>>; suggested: Set<string> } {
  const out = new Map<string, Pair<YamlNode, YamlNode>>();
  const suggested = new Set<string>();
  for (const pair of map.items as Pair<YamlNode, YamlNode>[]) {
    const key = isScalar(pair.key) ? String(pair.key.value) : "";
    if (!allowed.includes(key)) {
      const near = closest(key, allowed);
      if (near) suggested.add(near);
      err(code, `unknown key '${key}' in ${where}`, at(pair.key), near ? `did you mean '${near}'? allowed: ${allowed.join(", ")}` : `allowed: ${allowed.join(", ")}`);
      continue;
    }
    if (out.has(key)) {
      err("E_DUPLICATE_KEY", `key '${key}' appears twice in ${where}`, at(pair.key));
      continue;
    }
    out.set(key, pair);
  }
  return { pairs: out, suggested };
}

const RESERVED_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/** Keys at any depth of a YAML mapping that would reach an object's prototype once turned into JavaScript. */
function reservedKeys(root: YamlNode): { key: string; path: string; node: YamlNode }[] {
  const found: { key: string; path: string; node: YamlNode }[] = [];
  // A stack, not recursion: nesting depth is the file's to choose.
  const stack: { node: unknown; path: string }[] = [{ node: root, path: "" }];
  while (stack.length) {
    const { node, path } = stack.pop()!;
    if (isMap(node)) {
      for (const p of node.items as Pair<YamlNode, YamlNode>[]) {
        const key = isScalar(p.key) ? String(p.key.value) : "";
        const here = path ? `${path}.${key}` : key;
        if (RESERVED_KEYS.has(key)) found.push({ key, path: here, node: p.key });
        stack.push({ node: p.value, path: here });
      }
    } else if (isSeq(node)) {
      node.items.forEach((v, i) => {
        stack.push({ node: v, path: `${path}[${i}]` });
      });
    }
  }
  return found;
}

function parseStep(id: string, node: YamlNode | null, loc: SourceLocation, err: ErrFn, at: AtFn): StepSpec | undefined {
  if (!isMap(node)) {
    err("E_SPEC", `step '${id}': expected a mapping with 'uses', found ${typeName(node)}`, node ? at(node) : loc, `${id}: { uses: core/read-jsonl, with: { … } }`);
    return undefined;
  }
  const { pairs: fields } = pairsByKey(node, `step '${id}'`, STEP_KEYS, err, at, "E_SPEC");
  const usesPair = fields.get("uses");
  const uses = usesPair && isScalar(usesPair.value) ? usesPair.value.value : undefined;
  if (typeof uses !== "string" || !uses.includes("/")) {
    err("E_SPEC", `step '${id}': expected 'uses: <plugin>/<step>', found ${usesPair ? JSON.stringify(uses ?? null) : "no 'uses'"}`, usesPair ? at(usesPair.value) : loc, "run 'latentflow plugins' to list the steps installed");
    return undefined;
  }

  const withValue: Record<string, unknown> = {};
  const paramLocs: Record<string, SourceLocation> = {};
  const paramKeyLocs: Record<string, SourceLocation> = {};
  const withPair = fields.get("with");
  if (withPair && withPair.value !== null && !(isScalar(withPair.value) && withPair.value.value === null)) {
    if (!isMap(withPair.value)) {
      err("E_SPEC", `step '${id}': expected 'with' to be a mapping of params, found ${typeName(withPair.value)}`, at(withPair.value));
    } else {
      const reserved = reservedKeys(withPair.value);
      for (const r of reserved) {
        err("E_PARAM_NAME", `step '${id}': '${r.path}' under 'with:' is not a param name Latentflow accepts: '${r.key}' is reserved in JavaScript objects`, at(r.node), "rename the key; __proto__, constructor and prototype are refused so a pipeline cannot change how its params are read");
      }
      const js = reserved.length ? {} : (withPair.value.toJSON() as Record<string, unknown>);
      Object.assign(withValue, js);
      for (const p of withPair.value.items as Pair<YamlNode, YamlNode>[]) {
        if (!isScalar(p.key)) continue;
        paramLocs[String(p.key.value)] = at(p.value ?? p.key);
        paramKeyLocs[String(p.key.value)] = at(p.key);
      }
    }
  }

  const inputs: Record<string, InputRef> = {};
  const inLocs: Record<string, SourceLocation> = {};
  const inPair = fields.get("in");
  if (inPair) {
    if (!isMap(inPair.value)) {
      err("E_SPEC", `step '${id}': expected 'in' to be a mapping of input port to source step, found ${typeName(inPair.value)}`, at(inPair.value), "in: { vectors: embed }  or  in: { vectors: embed.vectors }");
    } else {
      for (const p of inPair.value.items as Pair<YamlNode, YamlNode>[]) {
        const port = isScalar(p.key) ? String(p.key.value) : "";
        const ref = isScalar(p.value) ? p.value.value : undefined;
        const refLoc = at(p.value ?? p.key);
        if (RESERVED_KEYS.has(port)) {
          err("E_PARAM_NAME", `step '${id}': '${port}' under 'in:' is not an input port name Latentflow accepts: it is reserved in JavaScript objects`, at(p.key));
          continue;
        }
        inLocs[port] = at(p.key);
        if (typeof ref !== "string" || !/^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/.test(ref)) {
          err("E_SPEC", `step '${id}': input '${port}' must name a step or step.port, found ${JSON.stringify(ref ?? null)}`, refLoc);
          continue;
        }
        const [step, outPort] = ref.split(".");
        inputs[port] = { step: step!, ...(outPort ? { port: outPort } : {}), loc: refLoc };
      }
    }
  }

  let shard: StepSpec["shard"];
  const shardPair = fields.get("shard");
  if (shardPair) {
    const size = isMap(shardPair.value) ? (shardPair.value.toJSON() as { size?: unknown }).size : undefined;
    const extra = isMap(shardPair.value) ? Object.keys(shardPair.value.toJSON() as object).filter((k) => k !== "size") : [];
    if (typeof size !== "number" || !Number.isInteger(size) || size < 1 || extra.length) {
      // Point at the part that is wrong: an extra key, the size value, or the whole value when it is not a mapping.
      const map = isMap(shardPair.value) ? (shardPair.value.items as Pair<YamlNode, YamlNode>[]) : [];
      const extraPair = map.find((p) => isScalar(p.key) && p.key.value !== "size");
      const sizePair = map.find((p) => isScalar(p.key) && p.key.value === "size");
      const where = extraPair ? at(extraPair.key) : sizePair ? at(sizePair.value ?? sizePair.key) : at(shardPair.value);
      err("E_SHARD", `step '${id}': expected 'shard: { size: <positive integer> }', found ${JSON.stringify(shardPair.value?.toJSON() ?? null)}`, where, "size is the number of items per shard, e.g. shard: { size: 1000 }");
    } else shard = { size, loc: at(shardPair.key) };
  }

  let retries = 0;
  const retriesPair = fields.get("retries");
  if (retriesPair) {
    const r = isScalar(retriesPair.value) ? retriesPair.value.value : undefined;
    if (typeof r !== "number" || !Number.isInteger(r) || r < 0 || r > 100) {
      err("E_SPEC", `step '${id}': expected 'retries' to be an integer from 0 to 100, found ${JSON.stringify(r ?? null)}`, at(retriesPair.value), "retries is how many times a failed step is run again, e.g. retries: 2");
    } else retries = r;
  }
  let timeoutMs: number | undefined;
  const timeoutPair = fields.get("timeout");
  if (timeoutPair) {
    const raw = isScalar(timeoutPair.value) ? timeoutPair.value.value : undefined;
    timeoutMs = parseDuration(raw);
    if (timeoutMs === undefined) err("E_SPEC", `step '${id}': expected 'timeout' like 30s, 10m, 1h or a number of seconds, found ${JSON.stringify(raw ?? null)}`, at(timeoutPair.value), "e.g. timeout: 90s or timeout: 10m; units are ms, s, m and h");
  }
  let onError: OnError = "fail";
  const onErrorPair = fields.get("onError");
  if (onErrorPair) {
    const v = isScalar(onErrorPair.value) ? onErrorPair.value.value : undefined;
    if (v !== "fail" && v !== "skip") err("E_SPEC", `step '${id}': expected 'onError: fail' or 'onError: skip', found ${JSON.stringify(v ?? null)}`, at(onErrorPair.value), "'fail' stops the step at the first bad item; 'skip' leaves bad items out and lists them in the run report");
    else onError = v;
  }

  return {
    id,
    uses,
    with: withValue,
    in: inputs,
    ...(shard ? { shard } : {}),
    retries,
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    onError,
    loc,
    usesLoc: at(usesPair!.value),
    paramLocs,
    paramKeyLocs,
    inLocs,
    ...(withPair ? { withLoc: at(withPair.key) } : {}),
    ...(inPair ? { inLoc: at(inPair.key) } : {}),
  };
}

/** The candidate nearest to `word` by edit distance, when near enough to be a likely typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}
