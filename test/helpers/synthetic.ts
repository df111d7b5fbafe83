// A tiny sentiment data set written in the golden BERT's 61-word vocabulary, for fast end-to-end tests.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Batch } from "../../src/data/batches.ts";
import { Rng } from "../../src/engine/index.ts";

export const GOLDEN_BERT = new URL("../fixtures/golden/models/bert", import.meta.url).pathname;

const POS = ["good", "great", "fun", "funny", "smart", "best"];
const NEG = ["bad", "terrible", "boring", "dull", "slow", "worst"];
const SUBJ = ["the movie", "the film", "this plot", "the acting", "the story", "the script"];

export function sentimentRows(n: number, seed: number): [string, string][] {
  const rng = new Rng(seed);
  const rows: [string, string][] = [];
  for (let i = 0; i < n; i++) {
    const pos = rng.next() < 0.5;
    const w = (pos ? POS : NEG)[rng.int(6)]!;
    const s = SUBJ[rng.int(6)]!;
    const v = rng.next() < 0.5 ? "was" : "is";
    rows.push([`${s} ${v} very ${w} .`, pos ? "pos" : "neg"]);
  }
  return rows;
}

/** Writes train.tsv and dev.tsv (header: sentence, label) into a fresh temp dir. */
export function writeSentimentData(nTrain = 64, nDev = 32): { dir: string; train: string; dev: string } {
  const dir = mkdtempSync(join(tmpdir(), "rose-data-"));
  const write = (file: string, rows: [string, string][]) =>
    writeFileSync(file, `sentence\tlabel\n${rows.map((r) => r.join("\t")).join("\n")}\n`);
  const train = join(dir, "train.tsv"),
    dev = join(dir, "dev.tsv");
  write(train, sentimentRows(nTrain, 1));
  write(dev, sentimentRows(nDev, 2));
  return { dir, train, dev };
}

/** The batch of a golden model's case.json (test/fixtures/golden/models/NAME/case.json) as a training step reads it. */
export function goldenBatch(dir: string): Batch {
  const c = JSON.parse(readFileSync(join(dir, "case.json"), "utf8")) as Record<string, number[][] | number[]>;
  const ids = c.input_ids as number[][];
  const i64 = (rows: number[][]) => BigInt64Array.from(rows.flat().map(BigInt));
  return {
    batch: ids.length,
    seq: ids[0]!.length,
    inputIds: i64(ids),
    attentionMask: i64(c.attention_mask as number[][]),
    tokenTypeIds: c.token_type_ids ? i64(c.token_type_ids as number[][]) : new BigInt64Array(ids.length * ids[0]!.length),
    labels: BigInt64Array.from((c.labels as number[]).map(BigInt)),
  };
}
