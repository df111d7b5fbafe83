// Builds the pre-training corpus: node --import tsx scripts/build-corpus.ts --out corpus/ [--max-mb N]
// Writes <out>/train.txt and <out>/heldout.txt (one line per paragraph or sentence group) and prints counts.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { buildCorpus, type SourceStats } from "../src/pretrain/corpus.ts";
import { writeFileAtomic } from "../src/io/safetensors.ts";

const program = new Command()
  .name("build-corpus")
  .description("Build the masked-LM pre-training corpus from State of the Union addresses, Moby-Dick and WordNet glosses")
  .requiredOption("--out <dir>", "output directory for train.txt and heldout.txt")
  .option("--max-mb <n>", "cap the training text at about N million characters", (v) => {
    const n = Number(v);
    if (!(n > 0)) throw new Error(`--max-mb must be a positive number, got ${v}`);
    return n;
  })
  .option("--heldout <fraction>", "fraction of documents held out", (v) => Number(v), 0.01);

const opts = program.parse().opts<{ out: string; maxMb?: number; heldout: number }>();
const t0 = performance.now();
const corpus = buildCorpus({ heldoutFraction: opts.heldout, ...(opts.maxMb !== undefined ? { maxTrainChars: Math.round(opts.maxMb * 1e6) } : {}) });
mkdirSync(opts.out, { recursive: true });
const write = (name: string, lines: string[]): void => writeFileAtomic(join(opts.out, name), lines.length ? `${lines.join("\n")}\n` : "");
write("train.txt", corpus.train);
write("heldout.txt", corpus.heldout);
const secs = (performance.now() - t0) / 1000;

const row = (name: string, s: SourceStats): string =>
  [name.padEnd(10), String(s.documents).padStart(9), `${s.trainDocuments}/${s.heldoutDocuments}`.padStart(13), `${s.trainLines}/${s.heldoutLines}`.padStart(15), String(s.chars).padStart(11), String(s.words).padStart(10)].join(" ");
console.log(["source".padEnd(10), "documents".padStart(9), "train/heldout".padStart(13), "lines tr/ho".padStart(15), "chars".padStart(11), "words".padStart(10)].join(" "));
for (const [name, s] of Object.entries(corpus.stats.sources)) console.log(row(name, s));
console.log(row("total", corpus.stats.total));
console.log(`wrote ${join(opts.out, "train.txt")} (${corpus.train.length} lines) and ${join(opts.out, "heldout.txt")} (${corpus.heldout.length} lines) in ${secs.toFixed(1)} s`);
