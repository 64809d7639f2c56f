"""Peer of the word2vec benchmark: gensim's Word2Vec on the same tokenised corpus file (one sentence per
line, tokens separated by spaces) with the same settings. Prints one JSON object.

usage: gensim_word2vec.py <corpus> <questions-words.txt> <wordsim353.tsv> <threads> <epochs> [evaluate]
"""
import json
import logging
import sys
import time

from gensim.models import Word2Vec
from gensim.models.word2vec import LineSentence

corpus, questions, wordsim, threads, epochs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
evaluate = len(sys.argv) > 6 and sys.argv[6] == "evaluate"

# gensim reports effective words (after subsampling) per epoch in its log; collect them from there.
effective = []


class Grab(logging.Handler):
    def emit(self, record):
        msg = record.getMessage()
        if "effective words/s" in msg and msg.startswith("EPOCH"):
            effective.append(msg)


logging.getLogger("gensim").setLevel(logging.INFO)
logging.getLogger("gensim").addHandler(Grab())

model = Word2Vec(vector_size=100, window=5, min_count=5, negative=5, sg=1, sample=1e-3, alpha=0.025, min_alpha=0.0001, workers=threads, seed=1)
model.build_vocab(LineSentence(corpus))
t0 = time.perf_counter()
eff, raw = model.train(LineSentence(corpus), total_examples=model.corpus_count, epochs=epochs)
seconds = time.perf_counter() - t0
out = {
    "threads": threads,
    "epochs": epochs,
    "trainSeconds": round(seconds, 2),
    "effectiveWords": eff,
    "rawWords": raw,
    "effectiveWordsPerSecond": round(eff / seconds),
    "rawWordsPerSecond": round(raw / seconds),
    "vocabulary": len(model.wv),
}
if evaluate:
    score, _ = model.wv.evaluate_word_analogies(questions, restrict_vocab=30000)
    pearson, spearman, oov = model.wv.evaluate_word_pairs(wordsim)
    out["analogyAccuracy"] = score
    out["wordsim353Spearman"] = spearman[0]
print(json.dumps(out))
