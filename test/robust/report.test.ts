import { test } from "node:test";
import assert from "node:assert/strict";
import { formatResult, formatSummaryTable, summarize } from "../../src/robust/report.ts";
import type { AttackResult, AttackStatus } from "../../src/robust/types.ts";

function result(status: AttackStatus, queries: number, changed: number, numWords: number): AttackResult {
  const text = Array.from({ length: numWords }, (_, i) => `w${i}`).join(" ");
  return {
    original: { text },
    perturbed: { text },
    originalLabel: 1,
    originalPrediction: status === "skipped" ? 0 : 1,
    perturbedPrediction: status === "failed" ? 1 : 0,
    status,
    queries,
    perturbedWordPct: (100 * changed) / numWords,
    numWords,
    attackedField: "text",
    changes: [],
  };
}

test("summary uses TextAttack's definitions", () => {
  const s = summarize([
    result("succeeded", 10, 1, 10), // 10%
    result("succeeded", 30, 3, 10), // 30%
    result("succeeded", 20, 1, 5), // 20%
    result("failed", 40, 2, 20), // not averaged
    result("skipped", 1, 0, 5), // not in queries
  ]);
  assert.deepEqual(s, {
    n: 5,
    succeeded: 3,
    failed: 1,
    skipped: 1,
    original_accuracy: 80,
    accuracy_under_attack: 20,
    attack_success_rate: 75,
    avg_perturbed_word_pct: 20,
    avg_num_words: 10,
    avg_queries: 25,
  });
  const empty = summarize([]);
  assert.equal(empty.attack_success_rate, 0);
  assert.equal(empty.original_accuracy, 0);
  const allSkipped = summarize([result("skipped", 1, 0, 3)]);
  assert.equal(allSkipped.attack_success_rate, 0);
  assert.equal(allSkipped.avg_queries, 0);
});

test("summary table and result formatting", () => {
  const s = summarize([result("succeeded", 10, 1, 10), result("failed", 30, 0, 10)]);
  const t = formatSummaryTable(s, { modelMs: 500, auxModelMs: 0, totalMs: 2000, modelCalls: 3, modelInputs: 40 });
  assert.match(t, /Attack success rate: +\| +50\.00% \|/);
  assert.match(t, /Accuracy under attack: +\| +50\.00% \|/);
  assert.match(t, /Time in classifier: +\| 0\.50 s \(25\.0%\) \|/);
  const lines = t.split("\n");
  assert.ok(lines.every((l) => l.length === lines[0]!.length));

  const r: AttackResult = {
    ...result("succeeded", 7, 1, 4),
    original: { text: "Q?", pair: "a good, good film" },
    perturbed: { text: "Q?", pair: "a good, nice film" },
    attackedField: "pair",
    changes: [{ index: 2, original: "good", perturbed: "nice" }],
  };
  assert.equal(
    formatResult(r, ["neg", "pos"]),
    "[SUCCEEDED] label pos: pos -> neg (7 queries)\nQ?\na good, [[good]] film\na good, [[nice]] film",
  );
});
