import { readFile } from "node:fs/promises";
import { LatentflowError, throwIfCancelled } from "@latentflow/core";
import { exactKnn } from "@latentflow/core/kernels";
import type { WordVectors } from "../word-vectors/word-vectors.js";

// Word-vector evaluation exactly as gensim's KeyedVectors.evaluate_word_analogies and evaluate_word_pairs
// (gensim 4): same file parsing, same vocabulary restriction, same skipping of out-of-vocabulary
// questions and pairs, same statistics — so figures are comparable with published gensim figures.

export interface AnalogyEvalOptions {
  /** Only the first `restrictVocab` words (the most frequent) are used, as questions and as answers. Default 30,000. */
  restrictVocab?: number;
  /** Compare words upper-cased (a word maps to its most frequent case variant). Default true. */
  caseInsensitive?: boolean;
  /** 3CosAdd (gensim's evaluator) or 3CosMul. Default 3cosadd. */
  method?: "3cosadd" | "3cosmul";
  /** Called with (questions done, questions to answer). */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
  /** Worker threads of the 3CosAdd kernel (core's exact kNN); default all cores, 0 = this thread. */
  threads?: number;
}

export interface AnalogySectionResult {
  section: string;
  correct: number;
  incorrect: number;
  /** correct / (correct + incorrect); null when no question of the section was answerable. */
  accuracy: number | null;
}

export interface AnalogyReport {
  file: string;
  method: "3cosadd" | "3cosmul";
  restrictVocab: number;
  caseInsensitive: boolean;
  /** Well-formed questions in the file. */
  questions: number;
  /** Questions answered: all four words in the restricted vocabulary. */
  evaluated: number;
  /** Questions skipped for an out-of-vocabulary word. */
  skipped: number;
  /** evaluated / questions. */
  coverage: number;
  correct: number;
  incorrect: number;
  /** correct / evaluated (gensim's "Total accuracy"). */
  accuracy: number;
  sections: AnalogySectionResult[];
}

export interface WordPairsEvalOptions {
  /** Only the first `restrictVocab` words count as known. Default 300,000. */
  restrictVocab?: number;
  caseInsensitive?: boolean;
  /** Column separator. Default tab. */
  delimiter?: string;
}

export interface WordPairsReport {
  file: string;
  /** Pairs scored (both words known). */
  pairs: number;
  /** Pairs skipped for an out-of-vocabulary word. */
  oov: number;
  /** oov / (pairs + oov) × 100, as gensim reports it (a percentage). */
  oovRatio: number;
  /** Pearson correlation of model cosine and human score. */
  pearson: number;
  /** Spearman rank correlation (average ranks for ties, as scipy). */
  spearman: number;
}

function formatError(file: string, line: number, expected: string, found: string): LatentflowError {
  return new LatentflowError("E_FORMAT", `${file}:${line}: expected ${expected}, found ${found}`, { data: { expected, found, where: `${file}:${line}` } });
}

/** Most-frequent-first map of (case-folded) word → row, over the first `restrict` rows (gensim's ok_vocab). */
function okVocab(wv: WordVectors, restrict: number, caseInsensitive: boolean): Map<string, number> {
  const m = new Map<string, number>();
  const n = Math.min(restrict, wv.size);
  for (let i = 0; i < n; i++) {
    const key = caseInsensitive ? wv.words[i]!.toUpperCase() : wv.words[i]!;
    if (!m.has(key)) m.set(key, i);
  }
  return m;
}

function checkRestrict(v: number, where: string): void {
  if (!Number.isInteger(v) || v < 1) throw new LatentflowError("E_PARAM", `${where}: expected restrictVocab a positive integer, found ${v}`, { data: { expected: "a positive integer", found: v, where } });
}

interface Question {
  section: number;
  a: number;
  b: number;
  c: number;
  expected: string;
  ignore: [string, string, string];
}

/** Floats of unit-vector dot products kept in memory at once (rows of the similarity block). */
const BLOCK_FLOATS = 32 * 1024 * 1024;

/**
 * Word-analogy accuracy (Google's questions-words format: `: section` lines, then `a b c d` lines meaning
 * a:b :: c:d), as gensim's evaluate_word_analogies: questions with a word outside the first
 * `restrictVocab` words are skipped, the answer is searched among those words only, and a, b, c are
 * never answers. 3CosAdd runs all questions as one batch through core's exact inner-product kNN kernel
 * (wasm SIMD on every core); 3CosMul (not in gensim's evaluator) combines per-word cosine rows in plain JS.
 */
export async function evaluateAnalogies(wv: WordVectors, path: string, opts: AnalogyEvalOptions = {}): Promise<AnalogyReport> {
  const restrict = opts.restrictVocab ?? 30000;
  checkRestrict(restrict, "evaluateAnalogies");
  const ci = opts.caseInsensitive ?? true;
  const method = opts.method ?? "3cosadd";
  if (method !== "3cosadd" && method !== "3cosmul") throw new LatentflowError("E_PARAM", `evaluateAnalogies: expected method '3cosadd' or '3cosmul', found '${String(method)}'`);
  const text = await readFile(path, "utf8");
  const vocab = okVocab(wv, restrict, ci);
  const n = Math.min(restrict, wv.size);
  const fold = (w: string) => (ci ? w.toUpperCase() : w);

  const sections: AnalogySectionResult[] = [];
  const questions: Question[] = [];
  let total = 0;
  const lines = text.split("\n");
  for (let ln = 0; ln < lines.length; ln++) {
    const line = lines[ln]!;
    if (line.startsWith(": ")) {
      sections.push({ section: line.replace(/^[: ]+/, "").trim(), correct: 0, incorrect: 0, accuracy: null });
      continue;
    }
    const parts = line.split(/\s+/).filter((p) => p !== "");
    if (parts.length !== 4) continue; // gensim skips malformed (and blank) lines without counting them
    if (sections.length === 0) throw formatError(path, ln + 1, "a ': section' line before the first question", JSON.stringify(line));
    total++;
    const [a, b, c, d] = parts.map(fold) as [string, string, string, string];
    const [ia, ib, ic, id] = [vocab.get(a), vocab.get(b), vocab.get(c), vocab.get(d)];
    if (ia === undefined || ib === undefined || ic === undefined || id === undefined) continue;
    questions.push({ section: sections.length - 1, a: ia, b: ib, c: ic, expected: d, ignore: [a, b, c] });
  }

  const d = wv.dim;
  const unit = wv.normalized().subarray(0, n * d);
  const keys = ci ? wv.words.slice(0, n).map((w) => w.toUpperCase()) : wv.words;
  const skip = (q: Question, x: number) => x === q.a || x === q.b || x === q.c || (ci && (keys[x] === q.ignore[0] || keys[x] === q.ignore[1] || keys[x] === q.ignore[2]));
  const answers = new Int32Array(questions.length).fill(-1);
  if (method === "3cosadd") await answerCosAdd(questions, unit, n, d, skip, answers, opts);
  else await answerCosMul(questions, unit, n, d, skip, answers, opts);
  for (let qi = 0; qi < questions.length; qi++) {
    const q = questions[qi]!;
    const sec = sections[q.section]!;
    if (answers[qi]! >= 0 && keys[answers[qi]!] === q.expected) sec.correct++;
    else sec.incorrect++;
  }

  let correct = 0;
  for (const s of sections) {
    correct += s.correct;
    s.accuracy = s.correct + s.incorrect > 0 ? s.correct / (s.correct + s.incorrect) : null;
  }
  const evaluated = questions.length;
  return {
    file: path,
    method,
    restrictVocab: restrict,
    caseInsensitive: ci,
    questions: total,
    evaluated,
    skipped: total - evaluated,
    coverage: total > 0 ? evaluated / total : 0,
    correct,
    incorrect: evaluated - correct,
    accuracy: evaluated > 0 ? correct / evaluated : 0,
    sections,
  };
}

type Skip = (q: Question, x: number) => boolean;
/** Questions per kernel call: progress and cancellation are checked between calls. */
const QUERY_CHUNK = 2048;
/** Candidates fetched per question: a, b, c and, case-insensitively, a few case variants of them are skipped. */
const CANDIDATES = 8;

/**
 * 3CosAdd for all questions: the query b − a + c (unit vectors) of every question against the restricted
 * table in core's exact inner-product kNN kernel (wasm SIMD, all cores), then the best candidate that is
 * not a question word. Ranking by x·(b − a + c) is gensim's ranking by cos(x, unit(b − a + c)).
 */
async function answerCosAdd(questions: Question[], unit: Float32Array, n: number, d: number, skip: Skip, answers: Int32Array, opts: AnalogyEvalOptions): Promise<void> {
  const k = Math.min(CANDIDATES, n);
  for (let q0 = 0; q0 < questions.length; q0 += QUERY_CHUNK) {
    throwIfCancelled(opts.signal, "word evaluation");
    const q1 = Math.min(questions.length, q0 + QUERY_CHUNK);
    const queries = new Float32Array((q1 - q0) * d);
    for (let qi = q0; qi < q1; qi++) {
      const { a, b, c } = questions[qi]!;
      const o = (qi - q0) * d;
      let norm = 0;
      for (let j = 0; j < d; j++) {
        const v = unit[b * d + j]! + unit[c * d + j]! - unit[a * d + j]!;
        queries[o + j] = v;
        norm += v * v;
      }
      const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
      for (let j = 0; j < d; j++) queries[o + j]! *= inv;
    }
    const res = await exactKnn(unit, queries, d, k, { metric: "ip", ...(opts.threads !== undefined ? { threads: opts.threads } : {}) });
    for (let qi = q0; qi < q1; qi++) {
      const q = questions[qi]!;
      const row = res.indices.subarray((qi - q0) * res.k, (qi - q0 + 1) * res.k);
      let found = -1;
      for (const x of row) {
        if (x >= 0 && !skip(q, x)) {
          found = x;
          break;
        }
      }
      // Every candidate was a question word (many case variants): scan the whole table for this one.
      answers[qi] = found >= 0 ? found : scanBest(queries.subarray((qi - q0) * d, (qi - q0 + 1) * d), unit, n, d, (x) => skip(q, x));
    }
    opts.onProgress?.(q1, questions.length);
  }
}

function scanBest(q: Float32Array, unit: Float32Array, n: number, d: number, skip: (x: number) => boolean): number {
  let best = Number.NEGATIVE_INFINITY;
  let at = -1;
  for (let x = 0; x < n; x++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += unit[x * d + j]! * q[j]!;
    if (s > best && !skip(x)) {
      best = s;
      at = x;
    }
  }
  return at;
}

/**
 * 3CosMul for all questions (gensim's most_similar_cosmul): each distinct question word's cosines to the
 * restricted table are computed once per block of questions, and each question combines three such rows.
 */
async function answerCosMul(questions: Question[], unit: Float32Array, n: number, d: number, skip: Skip, answers: Int32Array, opts: AnalogyEvalOptions): Promise<void> {
  const perBlock = Math.max(3, Math.floor(BLOCK_FLOATS / n));
  for (let q0 = 0; q0 < questions.length; ) {
    throwIfCancelled(opts.signal, "word evaluation");
    // Gather questions until their distinct words fill a block.
    const rowOf = new Map<number, number>();
    let q1 = q0;
    while (q1 < questions.length) {
      const q = questions[q1]!;
      const fresh = [q.a, q.b, q.c].filter((w, i, all) => !rowOf.has(w) && all.indexOf(w) === i);
      if (rowOf.size + fresh.length > perBlock && q1 > q0) break;
      for (const w of fresh) rowOf.set(w, rowOf.size);
      q1++;
    }
    const sims = cosineRows([...rowOf.keys()], unit, n, d);
    for (let qi = q0; qi < q1; qi++) {
      const q = questions[qi]!;
      const sa = sims.subarray(rowOf.get(q.a)! * n, (rowOf.get(q.a)! + 1) * n);
      const sb = sims.subarray(rowOf.get(q.b)! * n, (rowOf.get(q.b)! + 1) * n);
      const sc = sims.subarray(rowOf.get(q.c)! * n, (rowOf.get(q.c)! + 1) * n);
      let best = Number.NEGATIVE_INFINITY;
      let at = -1;
      for (let x = 0; x < n; x++) {
        const s = ((1 + sb[x]!) * (1 + sc[x]!)) / 4 / ((1 + sa[x]!) / 2 + 1e-6);
        if (s > best && !skip(q, x)) {
          best = s;
          at = x;
        }
      }
      answers[qi] = at;
    }
    opts.onProgress?.(q1, questions.length);
    q0 = q1;
    await new Promise((r) => setImmediate(r));
  }
}

/** rows.length × n cosines: row r holds unit[rows[r]] · unit[x] for every x < n (four query rows per pass over the table). */
function cosineRows(rows: number[], unit: Float32Array, n: number, d: number): Float32Array {
  const out = new Float32Array(rows.length * n);
  const q = new Float64Array(4 * d);
  for (let r0 = 0; r0 < rows.length; r0 += 4) {
    const m = Math.min(4, rows.length - r0);
    q.fill(0);
    for (let t = 0; t < m; t++) for (let j = 0; j < d; j++) q[t * d + j] = unit[rows[r0 + t]! * d + j]!;
    const o0 = r0 * n;
    const o1 = o0 + n;
    const o2 = o1 + n;
    const o3 = o2 + n;
    for (let x = 0; x < n; x++) {
      const o = x * d;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let j = 0; j < d; j++) {
        const v = unit[o + j]!;
        s0 += v * q[j]!;
        s1 += v * q[d + j]!;
        s2 += v * q[2 * d + j]!;
        s3 += v * q[3 * d + j]!;
      }
      out[o0 + x] = s0;
      if (m > 1) out[o1 + x] = s1;
      if (m > 2) out[o2 + x] = s2;
      if (m > 3) out[o3 + x] = s3;
    }
  }
  return out;
}

/** Ranks 1..n with ties given their average rank (scipy.stats.rankdata "average"). */
function averageRanks(v: readonly number[]): Float64Array {
  const order = v.map((_, i) => i).sort((i, j) => v[i]! - v[j]!);
  const ranks = new Float64Array(v.length);
  for (let s = 0; s < order.length; ) {
    let e = s + 1;
    while (e < order.length && v[order[e]!] === v[order[s]!]) e++;
    const r = (s + 1 + e) / 2;
    for (let t = s; t < e; t++) ranks[order[t]!] = r;
    s = e;
  }
  return ranks;
}

function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxy / Math.sqrt(sxx * syy);
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Correlation of model cosine similarity with human similarity scores (WordSim-353, SimLex-999, … as
 * `word1<TAB>word2<TAB>score` lines, `#` comments), as gensim's evaluate_word_pairs: pairs with a word
 * outside the first `restrictVocab` words are skipped and counted in the OOV ratio; malformed lines are skipped.
 */
export async function evaluateWordPairs(wv: WordVectors, path: string, opts: WordPairsEvalOptions = {}): Promise<WordPairsReport> {
  const restrict = opts.restrictVocab ?? 300000;
  checkRestrict(restrict, "evaluateWordPairs");
  const ci = opts.caseInsensitive ?? true;
  const delimiter = opts.delimiter ?? "\t";
  const vocab = okVocab(wv, restrict, ci);
  const text = await readFile(path, "utf8");
  const gold: number[] = [];
  const model: number[] = [];
  let oov = 0;
  const d = wv.dim;
  const v = wv.vectors;
  for (const raw of text.split("\n")) {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line === "" || line.startsWith("#")) continue;
    const parts = line.split(delimiter);
    if (parts.length !== 3) continue;
    const score = parts[2]!.trim();
    if (!NUMBER.test(score)) continue;
    const [a, b] = ci ? [parts[0]!.toUpperCase(), parts[1]!.toUpperCase()] : [parts[0]!, parts[1]!];
    const ia = vocab.get(a);
    const ib = vocab.get(b);
    if (ia === undefined || ib === undefined) {
      oov++;
      continue;
    }
    let ab = 0;
    let aa = 0;
    let bb = 0;
    for (let j = 0; j < d; j++) {
      const x = v[ia * d + j]!;
      const y = v[ib * d + j]!;
      ab += x * y;
      aa += x * x;
      bb += y * y;
    }
    gold.push(Number(score));
    // gensim's similarity is a float32; rounding to it keeps the same ties in the ranks.
    model.push(Math.fround(aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0));
  }
  if (gold.length === 0) {
    throw new LatentflowError("E_NO_DATA", `evaluateWordPairs: expected at least one pair of known words in ${path}, found none (${oov} pairs out of vocabulary)`, {
      hint: "check the file format (word1<TAB>word2<TAB>score) and the vocabulary (case, restrictVocab)",
      data: { expected: "pairs of known words", found: `${oov} out-of-vocabulary pairs`, where: path },
    });
  }
  return {
    file: path,
    pairs: gold.length,
    oov,
    oovRatio: (oov / (gold.length + oov)) * 100,
    pearson: pearson(gold, model),
    spearman: pearson(averageRanks(gold), averageRanks(model)),
  };
}
