// Trains the pre-training WordPiece vocabulary on a corpus file and writes a tokenizer directory:
//   node --import tsx scripts/model/train-wordpiece.ts --corpus corpus/train.txt --out corpus/vocab-8000 --vocab-size 8000
// With --count-tokens FILE..., prints how many tokens each file has under the new vocabulary.
import { createReadStream, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { Command } from "commander";
import { Tokenizer } from "../../src/io/tokenizer.ts";
import { tokenizeLines } from "../../src/pretrain/mlm-data.ts";
import { trainWordPiece } from "../../src/pretrain/wordpiece.ts";
import { dirFiles } from "../../src/node/files.ts";

const int =
  (name: string) =>
  (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${v}`);
    return n;
  };

const program = new Command()
  .name("train-wordpiece")
  .description("Train a BERT WordPiece vocabulary (vocab.txt + tokenizer_config.json) on a one-line-per-paragraph corpus")
  .requiredOption("--corpus <file>", "training text, e.g. corpus/train.txt")
  .requiredOption("--out <dir>", "tokenizer directory to write")
  .option("--vocab-size <n>", "vocabulary size, special tokens included", int("--vocab-size"), 8000)
  .option("--min-frequency <n>", "least count of a merged pair", int("--min-frequency"), 2)
  .option("--score <kind>", "merge score: frequency (Hugging Face) or wordpiece", "frequency")
  .option("--count-tokens <files...>", "report token counts of these files under the trained vocabulary");

const opts = program
  .parse()
  .opts<{ corpus: string; out: string; vocabSize: number; minFrequency: number; score: string; countTokens?: string[] }>();
if (opts.score !== "frequency" && opts.score !== "wordpiece") throw new Error(`--score must be frequency or wordpiece, got ${opts.score}`);
const t0 = performance.now();
const lines = createInterface({ input: createReadStream(opts.corpus, "utf8"), crlfDelay: Infinity });
const r = await trainWordPiece(lines, { vocabSize: opts.vocabSize, minFrequency: opts.minFrequency, score: opts.score, outDir: opts.out });
console.log(
  `vocabulary of ${r.vocab.length} (${r.alphabetSize} characters, ${r.merges} merges) from ${r.totalWords} words (${r.distinctWords} distinct) in ${((performance.now() - t0) / 1000).toFixed(1)} s -> ${opts.out}`,
);

if (opts.countTokens) {
  const tok = await Tokenizer.load(dirFiles(opts.out));
  for (const file of opts.countTokens) {
    const text = readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l.length > 0);
    const ids = await tokenizeLines(tok, text);
    let tokens = 0;
    let unk = 0;
    for (const line of ids) {
      tokens += line.length;
      for (const id of line) if (id === tok.specialIds.unk) unk++;
    }
    const words = text.reduce((n, l) => n + l.split(" ").length, 0);
    console.log(`${file}: ${text.length} lines, ${words} words, ${tokens} tokens (${(tokens / words).toFixed(3)} per word), ${unk} [UNK]`);
  }
}
