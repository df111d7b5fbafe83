// scripts/model/grow-width.ts: a widened checkpoint computes (nearly) what the old one did.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PretrainedModel } from "../../src/models/pretrained.ts";
import { predictLogits } from "../../src/infer/predictor.ts";
import { GOLDEN_BERT } from "../helpers/synthetic.ts";
import { dirFiles } from "../../src/node/files.ts";

const TEXTS = ["the movie was good", "a dull and tired plot", "fun", "not what I expected at all, but fine"].map((text) => ({ text }));

async function logits(dir: string): Promise<number[]> {
  const model = await PretrainedModel.load(dirFiles(dir), { labels: ["neg", "neu", "pos"], seed: 1 });
  return (await predictLogits(model, TEXTS, { threads: 1 })).flatMap((l) => [...l]);
}

function widen(hidden: number, intermediate: number): string {
  const out = join(mkdtempSync(join(tmpdir(), "rose-wide-")), "m");
  execFileSync(
    process.execPath,
    [
      "--import",
      "tsx",
      "scripts/model/grow-width.ts",
      GOLDEN_BERT,
      out,
      "--hidden",
      String(hidden),
      "--intermediate",
      String(intermediate),
    ],
    { stdio: "pipe" },
  );
  return out;
}

test("widening only the feed-forward layers keeps the function exactly", async () => {
  const before = await logits(GOLDEN_BERT),
    after = await logits(widen(32, 72));
  for (let i = 0; i < before.length; i++) assert.ok(Math.abs(before[i]! - after[i]!) < 1e-5, `logit ${i}: ${before[i]} vs ${after[i]}`);
});

test("widening the hidden size adds heads and keeps the function up to LayerNorm's statistics", async () => {
  const out = widen(48, 72);
  const cfg = JSON.parse(readFileSync(join(out, "config.json"), "utf8")) as Record<string, number>;
  assert.deepEqual([cfg.hidden_size, cfg.num_attention_heads, cfg.intermediate_size], [48, 6, 72]);
  const before = await logits(GOLDEN_BERT),
    after = await logits(out);
  const diff = Math.max(...before.map((b, i) => Math.abs(b - after[i]!)));
  const scale = Math.max(...before.map(Math.abs));
  assert.ok(diff < 0.2 * scale, `max logit change ${diff} (logits up to ${scale})`);
});
