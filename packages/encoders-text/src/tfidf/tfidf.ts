import { LatentflowError, sha256, type ModelArtifact, type Space, throwIfCancelled } from "@latentflow/core";
import { encodeNpy, parseNpy } from "@latentflow/core/io";
import { assertTexts, textSpace } from "../encoder.js";
import { VERSION } from "../version.js";
import { Analyzer, type AnalyzerOptions } from "./analyzer.js";
import type { CsrMatrix } from "./csr.js";

/** Options of {@link TfidfVectorizer}; names and defaults follow scikit-learn's TfidfVectorizer. */
export interface TfidfOptions extends AnalyzerOptions {
  /**
   * Drop terms found in fewer documents: an integer ≥ 1 is a document count, a number in [0, 1) a
   * fraction of the documents. Default 1 (keep all).
   */
  minDf?: number;
  /**
   * Drop terms found in more documents: a number in [0, 1] is a fraction of the documents (1 = keep all,
   * the default), an integer ≥ 2 a document count.
   */
  maxDf?: number;
  /** Keep only the terms most frequent over the whole corpus (after minDf/maxDf). Default: all. */
  maxFeatures?: number | null;
  /** Count each term once per document (tf ∈ {0, 1}). Default false. */
  binary?: boolean;
  /** Weight by inverse document frequency. Default true. */
  useIdf?: boolean;
  /** idf = ln((1 + n) / (1 + df)) + 1 (as if one more document held every term); else ln(n / df) + 1. Default true. */
  smoothIdf?: boolean;
  /** tf → 1 + ln(tf). Default false. */
  sublinearTf?: boolean;
  /** Row normalisation: "l2" (unit length, default), "l1" (unit sum of |values|) or "none". */
  norm?: "l2" | "l1" | "none";
}

/** Per-call options of fit/transform. */
export interface TfidfRunOptions {
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export const TFIDF_KIND = "encoders-text/tfidf";
const FORMAT = "1";

type Resolved = Required<Omit<TfidfOptions, "stopWords" | "maxFeatures">> & { stopWords: readonly string[] | null; maxFeatures: number | null };

interface TfidfState {
  vocabulary: string[];
  idf: Float64Array;
  /** Document frequency of each kept term in the fit corpus. */
  df: Int32Array;
  nDocs: number;
  space: Space;
}

function param(message: string, found: unknown, where: string, hint?: string): never {
  throw new LatentflowError("E_PARAM", message, { ...(hint ? { hint } : {}), data: { found, where } });
}

/** Compares by Unicode code point, as Python sorts strings (JavaScript's `<` compares UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate (0xD800–0xDFFF) stands for a code point above 0xFFFF: it sorts after every BMP unit.
    const sx = x >= 0xd800 && x <= 0xdfff;
    const sy = y >= 0xd800 && y <= 0xdfff;
    if (sx !== sy) return sx ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/** Document counts of every term, one sorted (column, count) list per document. */
interface Counts {
  terms: string[];
  /** Per document: term ids and counts, in first-seen order. */
  docs: { ids: Int32Array; counts: Float64Array }[];
}

/**
 * TF-IDF weighting of a bag of words, faithful to scikit-learn's TfidfVectorizer: same tokens, same
 * vocabulary (sorted terms), same idf, tf and norm formulas, same min_df/max_df/max_features pruning.
 * `fit` learns the vocabulary and idf; `transform` gives a sparse CSR matrix (documents × terms).
 */
export class TfidfVectorizer {
  readonly options: Resolved;
  readonly analyzer: Analyzer;
  private state: TfidfState | undefined;
  private index: Map<string, number> | undefined;

  constructor(options: TfidfOptions = {}) {
    this.analyzer = new Analyzer(options);
    const minDf = options.minDf ?? 1;
    const maxDf = options.maxDf ?? 1;
    if (!(minDf >= 0) || (minDf >= 1 && !Number.isInteger(minDf))) {
      param(`tfidf: expected minDf an integer count ≥ 1 or a fraction in [0, 1), found ${minDf}`, minDf, "minDf");
    }
    if (!(maxDf >= 0) || (maxDf > 1 && !Number.isInteger(maxDf))) {
      param(`tfidf: expected maxDf a fraction in [0, 1] or an integer count ≥ 2, found ${maxDf}`, maxDf, "maxDf");
    }
    const maxFeatures = options.maxFeatures ?? null;
    if (maxFeatures !== null && (!Number.isInteger(maxFeatures) || maxFeatures < 1)) {
      param(`tfidf: expected maxFeatures a positive integer or null, found ${maxFeatures}`, maxFeatures, "maxFeatures");
    }
    const norm = options.norm ?? "l2";
    if (norm !== "l2" && norm !== "l1" && norm !== "none") param(`tfidf: expected norm "l2", "l1" or "none", found ${JSON.stringify(norm)}`, norm, "norm");
    this.options = {
      lowercase: this.analyzer.lowercase,
      tokenPattern: this.analyzer.tokenPattern,
      stopWords: this.analyzer.stopWords,
      ngramRange: this.analyzer.ngramRange,
      minDf,
      maxDf,
      maxFeatures,
      binary: options.binary ?? false,
      useIdf: options.useIdf ?? true,
      smoothIdf: options.smoothIdf ?? true,
      sublinearTf: options.sublinearTf ?? false,
      norm,
    };
  }

  private fitted(what: string): TfidfState {
    if (!this.state) throw new LatentflowError("E_NOT_FITTED", `tfidf: ${what} needs a fitted vectorizer`, { hint: "call fit(texts) first, or TfidfVectorizer.load(artifact)" });
    return this.state;
  }

  /** The terms, in column order (sorted by code point, as scikit-learn's get_feature_names_out()). */
  get vocabulary(): readonly string[] {
    return this.fitted("vocabulary").vocabulary;
  }
  /** Inverse document frequency of each column. */
  get idf(): Float64Array {
    return this.fitted("idf").idf;
  }
  /** Number of documents each column's term was found in, in the fit corpus. */
  get documentFrequency(): Int32Array {
    return this.fitted("documentFrequency").df;
  }
  /** Documents the vectorizer was fitted on. */
  get nDocs(): number {
    return this.fitted("nDocs").nDocs;
  }
  /** The (sparse) space of the rows: one dimension per term, named after this fit. */
  get space(): Space {
    return this.fitted("space").space;
  }
  get isFitted(): boolean {
    return this.state !== undefined;
  }
  /** Column of `term`, or -1. */
  indexOf(term: string): number {
    this.fitted("indexOf");
    return this.index!.get(term) ?? -1;
  }

  /** Learns the vocabulary and idf of a corpus. */
  fit(texts: readonly string[], opts: TfidfRunOptions = {}): this {
    this.fitTransform(texts, opts);
    return this;
  }

  /** Fits on a corpus and returns its TF-IDF matrix (as fit then transform, counting once). */
  fitTransform(texts: readonly string[], opts: TfidfRunOptions = {}): CsrMatrix {
    assertTexts(texts, "tfidf fit");
    const counts = this.count(texts, opts, null);
    const n = texts.length;
    const nTerms = counts.terms.length;
    const df = new Int32Array(nTerms);
    const tf = new Float64Array(nTerms);
    for (const d of counts.docs) {
      for (let p = 0; p < d.ids.length; p++) {
        df[d.ids[p]!]!++;
        tf[d.ids[p]!]! += d.counts[p]!;
      }
    }
    const { minDf, maxDf, maxFeatures } = this.options;
    // As scikit-learn: fractions become (unrounded) document counts.
    const low = minDf >= 1 ? minDf : minDf * n;
    const high = maxDf <= 1 ? maxDf * n : maxDf;
    if (high < low) {
      throw new LatentflowError("E_PARAM", `tfidf fit: maxDf allows at most ${high} documents but minDf asks for at least ${low} (of ${n})`, {
        hint: "raise maxDf or lower minDf",
        data: { expected: "maxDf ≥ minDf in documents", found: { minDf: low, maxDf: high }, where: "tfidf fit" },
      });
    }
    // Sorted vocabulary first, then the df window, then the most frequent terms (ties: the earlier term).
    let kept = counts.terms.map((_, i) => i).sort((a, b) => compareCodePoints(counts.terms[a]!, counts.terms[b]!));
    kept = kept.filter((i) => df[i]! >= low && df[i]! <= high);
    if (maxFeatures !== null && kept.length > maxFeatures) {
      const rank = kept.map((i, pos) => ({ i, pos })).sort((a, b) => tf[b.i]! - tf[a.i]! || a.pos - b.pos);
      kept = rank.slice(0, maxFeatures).map((r) => r.i).sort((a, b) => compareCodePoints(counts.terms[a]!, counts.terms[b]!));
    }
    if (kept.length === 0) {
      throw new LatentflowError("E_EMPTY_VOCABULARY", `tfidf fit: expected some terms to remain, found none of ${nTerms} after minDf=${minDf}, maxDf=${maxDf}${nTerms === 0 ? " (the texts have no tokens: only stop words or no token of the pattern)" : ""}`, {
        hint: "lower minDf, raise maxDf, or check tokenPattern and stopWords",
        data: { expected: "≥ 1 term", found: 0, where: "tfidf fit", terms: nTerms },
      });
    }
    const column = new Int32Array(nTerms).fill(-1);
    kept.forEach((t, c) => {
      column[t] = c;
    });
    const vocabulary = kept.map((t) => counts.terms[t]!);
    const keptDf = Int32Array.from(kept, (t) => df[t]!);
    const { smoothIdf } = this.options;
    const idf = Float64Array.from(keptDf, (d) => (smoothIdf ? Math.log((1 + n) / (1 + d)) + 1 : Math.log(n / d) + 1));
    this.setState({ vocabulary, idf, df: keptDf, nDocs: n });
    return this.weigh(counts.docs, column, vocabulary.length);
  }

  /** TF-IDF rows of texts over the fitted vocabulary (terms it does not know are ignored). */
  transform(texts: readonly string[], opts: TfidfRunOptions = {}): CsrMatrix {
    const s = this.fitted("transform");
    assertTexts(texts, "tfidf transform");
    const counts = this.count(texts, opts, this.index!);
    const column = Int32Array.from(counts.terms.map((_, i) => i));
    return this.weigh(counts.docs, column, s.vocabulary.length);
  }

  /** Term counts per document; with `known`, only terms of that vocabulary (ids are its columns). */
  private count(texts: readonly string[], opts: TfidfRunOptions, known: Map<string, number> | null): Counts {
    const ids = known ?? new Map<string, number>();
    const terms: string[] = known ? this.state!.vocabulary : [];
    const docs: Counts["docs"] = [];
    // Per-document counts in arrays indexed by term id (a Map per document costs twice as much).
    let count = new Float64Array(Math.max(1024, terms.length));
    const touched: number[] = [];
    for (let d = 0; d < texts.length; d++) {
      if ((d & 63) === 0) throwIfCancelled(opts.signal, "tfidf");
      touched.length = 0;
      for (const term of this.analyzer.analyze(texts[d]!)) {
        let id = ids.get(term);
        if (id === undefined) {
          if (known) continue;
          id = terms.length;
          ids.set(term, id);
          terms.push(term);
          if (id >= count.length) {
            const grown = new Float64Array(count.length * 2);
            grown.set(count);
            count = grown;
          }
        }
        if (count[id] === 0) touched.push(id);
        count[id]!++;
      }
      const docIds = Int32Array.from(touched);
      const docCounts = new Float64Array(touched.length);
      for (let p = 0; p < touched.length; p++) {
        docCounts[p] = count[touched[p]!]!;
        count[touched[p]!] = 0;
      }
      docs.push({ ids: docIds, counts: docCounts });
      if ((d & 63) === 63 || d === texts.length - 1) opts.onProgress?.(d + 1, texts.length);
    }
    return { terms, docs };
  }

  /** CSR of tf·idf, row-normalised, over columns `column[termId]` (−1: dropped). */
  private weigh(docs: Counts["docs"], column: Int32Array, cols: number): CsrMatrix {
    const { binary, sublinearTf, useIdf, norm } = this.options;
    const idf = this.state!.idf;
    const indptr = new Int32Array(docs.length + 1);
    let nnz = 0;
    for (let d = 0; d < docs.length; d++) {
      for (const t of docs[d]!.ids) if (column[t]! >= 0) nnz++;
      indptr[d + 1] = nnz;
    }
    const indices = new Int32Array(nnz);
    const data = new Float64Array(nnz);
    // Values parked by column while the row's columns are sorted natively.
    const byColumn = new Float64Array(cols);
    for (let d = 0; d < docs.length; d++) {
      const { ids, counts } = docs[d]!;
      const start = indptr[d]!;
      const end = indptr[d + 1]!;
      let q = start;
      for (let p = 0; p < ids.length; p++) {
        const c = column[ids[p]!]!;
        if (c < 0) continue;
        indices[q++] = c;
        let v = binary ? 1 : counts[p]!;
        if (sublinearTf) v = 1 + Math.log(v);
        if (useIdf) v *= idf[c]!;
        byColumn[c] = v;
      }
      const row = indices.subarray(start, end);
      row.sort();
      let sum = 0;
      for (let r = start; r < end; r++) {
        const v = byColumn[indices[r]!]!;
        data[r] = v;
        sum += norm === "l2" ? v * v : Math.abs(v);
      }
      if (norm !== "none" && sum > 0) {
        const inv = norm === "l2" ? 1 / Math.sqrt(sum) : 1 / sum;
        for (let r = start; r < end; r++) data[r]! *= inv;
      }
    }
    return { rows: docs.length, cols, indptr, indices, data };
  }

  private setState(s: Omit<TfidfState, "space">): void {
    const o = this.options;
    const fit = sha256(
      [JSON.stringify(s.vocabulary), Buffer.from(s.idf.buffer, s.idf.byteOffset, s.idf.byteLength).toString("base64"), JSON.stringify({ ...o, stopWords: o.stopWords })].join("\n"),
    ).slice(0, 16);
    const space = textSpace({
      id: `tfidf-${s.vocabulary.length}-${fit}`,
      dim: s.vocabulary.length,
      metric: "cosine",
      normalized: o.norm === "l2",
      producer: TFIDF_KIND,
      version: VERSION,
      params: { norm: o.norm, sublinearTf: o.sublinearTf, ngramRange: [...o.ngramRange], fit },
    });
    this.state = { ...s, space };
    this.index = new Map(s.vocabulary.map((t, i) => [t, i]));
  }

  /** The fitted vectorizer as an `encoders-text/tfidf` artifact: vocabulary.json, idf.npy, df.npy; options in meta. */
  save(): ModelArtifact {
    const s = this.fitted("save");
    const o = this.options;
    const v = s.vocabulary.length;
    return {
      kind: TFIDF_KIND,
      format: FORMAT,
      meta: { options: { ...o, ngramRange: [...o.ngramRange], stopWords: o.stopWords ? [...o.stopWords] : null }, nDocs: s.nDocs, vocabularySize: v, space: s.space },
      files: {
        "vocabulary.json": new TextEncoder().encode(JSON.stringify(s.vocabulary)),
        "idf.npy": encodeNpy({ dtype: "float64", shape: [v], data: s.idf }),
        "df.npy": encodeNpy({ dtype: "int32", shape: [v], data: s.df }),
      },
    };
  }

  /** Reads a vectorizer written by `save`. */
  static load(artifact: ModelArtifact): TfidfVectorizer {
    if (artifact.kind !== TFIDF_KIND) {
      throw new LatentflowError("E_ARTIFACT_KIND", `expected a '${TFIDF_KIND}' model artifact, found '${artifact.kind}'`, { data: { expected: TFIDF_KIND, found: artifact.kind, where: "TfidfVectorizer.load" } });
    }
    if (artifact.format !== FORMAT) {
      throw new LatentflowError("E_ARTIFACT_FORMAT", `${TFIDF_KIND} artifact: expected format ${FORMAT}, found ${artifact.format}`, {
        hint: "the artifact was written by another version of @latentflow/encoders-text",
        data: { expected: FORMAT, found: artifact.format, where: "TfidfVectorizer.load" },
      });
    }
    const file = (name: string): Uint8Array => {
      const f = artifact.files[name];
      if (!f) {
        throw new LatentflowError("E_ARTIFACT_FORMAT", `${TFIDF_KIND} artifact: expected a file '${name}', found ${Object.keys(artifact.files).join(", ") || "no files"}`, {
          data: { expected: name, found: Object.keys(artifact.files), where: "TfidfVectorizer.load" },
        });
      }
      return f;
    };
    const meta = artifact.meta as { options: TfidfOptions; nDocs: number };
    const t = new TfidfVectorizer(meta.options);
    const vocabulary = JSON.parse(new TextDecoder().decode(file("vocabulary.json"))) as string[];
    const idf = parseNpy(file("idf.npy"), "idf.npy");
    const df = parseNpy(file("df.npy"), "df.npy");
    if (!Array.isArray(vocabulary) || idf.data.length !== vocabulary.length || df.data.length !== vocabulary.length) {
      throw new LatentflowError("E_ARTIFACT_FORMAT", `${TFIDF_KIND} artifact: expected idf and df of one value per term (${vocabulary.length}), found ${idf.data.length} and ${df.data.length}`, {
        data: { expected: vocabulary.length, found: [idf.data.length, df.data.length], where: "TfidfVectorizer.load" },
      });
    }
    t.setState({ vocabulary, idf: Float64Array.from(idf.data as Float64Array), df: Int32Array.from(df.data as Int32Array), nDocs: meta.nDocs });
    return t;
  }
}
