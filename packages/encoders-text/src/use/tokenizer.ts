/** A SentencePiece vocabulary as the USE lite model ships it: `[piece, log-probability score]` per id. */
export type UseVocabulary = ReadonlyArray<readonly [string, number]>;

/** Marks a word start, as in SentencePiece: U+2581 LOWER ONE EIGHTH BLOCK. */
const WORD_START = "\u2581";
/** Ids 0..5 are `<unk>`, `<s>`, `</s>` and three reserved ids; no text maps to them except unknown characters (0). */
const RESERVED = 6;
const UNK = 0;

interface TrieNode {
  children: Map<number, TrieNode>;
  /** Vocabulary id of the piece ending here, or -1. */
  id: number;
  score: number;
}

const newNode = (): TrieNode => ({ children: new Map(), id: -1, score: 0 });

/**
 * The tokenizer the Universal Sentence Encoder lite was published with (tfjs-models'
 * universal-sentence-encoder `Tokenizer`): NFKC, spaces to '▁' with one '▁' in front, then the
 * highest-scoring segmentation into vocabulary pieces (Viterbi over a trie); a character no piece starts
 * with becomes id 0 and runs of them one id 0. Ids match that implementation exactly, including its
 * tie-breaking (a later start wins an equal score) — the model's weights were trained against it — but it
 * runs in time linear in the text length rather than quadratic.
 */
export class UseTokenizer {
  private readonly root = newNode();
  /** UTF-16 length of each piece: the backward pass steps by it, as the reference does. */
  private readonly pieceLength: Int32Array;

  constructor(vocabulary: UseVocabulary) {
    this.pieceLength = new Int32Array(vocabulary.length);
    for (let id = 0; id < vocabulary.length; id++) {
      const [piece] = vocabulary[id]!;
      this.pieceLength[id] = piece.length;
      if (id < RESERVED) continue;
      let node = this.root;
      for (const ch of piece) {
        const cp = ch.codePointAt(0)!;
        let next = node.children.get(cp);
        if (!next) node.children.set(cp, (next = newNode()));
        node = next;
      }
      // A piece listed twice keeps its last id, as in the reference trie.
      node.id = id;
      node.score = vocabulary[id]![1];
    }
  }

  /** The piece ids of `text` (empty for an empty text). */
  encode(text: string): number[] {
    const normalized = text.normalize("NFKC");
    if (normalized.length === 0) return [];
    const symbols: number[] = [];
    for (const ch of WORD_START + normalized.replaceAll(" ", WORD_START)) symbols.push(ch.codePointAt(0)!);
    const n = symbols.length;
    // best[e]: score of the best segmentation of symbols[0, e); 0 also means "not reached yet" in the
    // reference, which this keeps so that ties and unknown-character paths resolve the same way.
    const best = new Float64Array(n + 1);
    const words = new Int32Array(n + 1);
    // Start positions in ascending order reproduce the reference's order of candidates for each end.
    for (let i = 0; i < n; i++) {
      const base = best[i]!;
      let node = this.root.children.get(symbols[i]!);
      let matched = false;
      for (let j = i; node !== undefined; ) {
        if (node.id >= 0) {
          matched = true;
          const end = j + 1;
          const score = node.score + base;
          if (best[end] === 0 || score >= best[end]!) {
            best[end] = score;
            words[end] = node.id;
          }
        }
        j++;
        if (j >= n) break;
        node = node.children.get(symbols[j]!);
      }
      if (!matched) {
        // An unknown character: one symbol, score 0, id 0.
        if (best[i + 1] === 0 || base >= best[i + 1]!) {
          best[i + 1] = base;
          words[i + 1] = UNK;
        }
      }
    }
    const reversed: number[] = [];
    for (let at = n; at > 0; at -= this.pieceLength[words[at]!]!) reversed.push(words[at]!);
    const ids: number[] = [];
    for (let k = reversed.length - 1; k >= 0; k--) {
      // Runs of unknown characters become one id 0 (the reference keeps the last of each run).
      if (reversed[k] === UNK && k > 0 && reversed[k - 1] === UNK) continue;
      ids.push(reversed[k]!);
    }
    return ids;
  }
}
