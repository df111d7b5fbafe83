// Attack summaries with TextAttack's definitions (textattack/loggers/attack_log_manager.py), in
// percent as TextAttack prints them, and plain-text formatting for the terminal.

import type { AttackSummaryFields } from "../node/run-dir.ts";
import type { AttackResult, AttackStats } from "./types.ts";
import { SegmentedText } from "./words.ts";

export interface AttackSummary extends AttackSummaryFields {
  /** Mean words per attacked text, over all examples. */
  avg_num_words: number;
}

const pct = (num: number, den: number): number => (den === 0 ? 0 : (100 * num) / den);
const mean = (xs: number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);

export function summarize(results: readonly AttackResult[]): AttackSummary {
  const n = results.length;
  const succ = results.filter((r) => r.status === "succeeded");
  const failed = results.filter((r) => r.status === "failed").length;
  const attacked = results.filter((r) => r.status !== "skipped");
  const skipped = n - attacked.length;
  return {
    n,
    succeeded: succ.length,
    failed,
    skipped,
    original_accuracy: pct(n - skipped, n),
    accuracy_under_attack: pct(failed, n),
    attack_success_rate: pct(succ.length, succ.length + failed),
    avg_perturbed_word_pct: mean(succ.map((r) => r.perturbedWordPct)),
    avg_num_words: mean(results.map((r) => r.numWords)),
    avg_queries: mean(attacked.map((r) => r.queries)),
  };
}

function table(rows: Array<[string, string]>): string {
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  const line = `+${"-".repeat(w0 + 2)}+${"-".repeat(w1 + 2)}+`;
  return [line, ...rows.map(([a, b]) => `| ${a.padEnd(w0)} | ${b.padStart(w1)} |`), line].join("\n");
}

/** The summary as TextAttack's results table, optionally with timing. */
export function formatSummaryTable(s: AttackSummary, stats?: AttackStats): string {
  const rows: Array<[string, string]> = [
    ["Number of successful attacks:", String(s.succeeded)],
    ["Number of failed attacks:", String(s.failed)],
    ["Number of skipped attacks:", String(s.skipped)],
    ["Original accuracy:", `${s.original_accuracy.toFixed(2)}%`],
    ["Accuracy under attack:", `${s.accuracy_under_attack.toFixed(2)}%`],
    ["Attack success rate:", `${s.attack_success_rate.toFixed(2)}%`],
    ["Average perturbed word %:", `${s.avg_perturbed_word_pct.toFixed(2)}%`],
    ["Average num. words per input:", s.avg_num_words.toFixed(2)],
    ["Avg num queries:", s.avg_queries.toFixed(2)],
  ];
  if (stats !== undefined) {
    rows.push(
      ["Total time:", `${(stats.totalMs / 1000).toFixed(2)} s`],
      ["Time in classifier:", `${(stats.modelMs / 1000).toFixed(2)} s (${pct(stats.modelMs, stats.totalMs).toFixed(1)}%)`],
    );
    if (stats.auxModelMs > 0) rows.push(["Time in masked LM / encoder:", `${(stats.auxModelMs / 1000).toFixed(2)} s`]);
  }
  return table(rows);
}

/** One result as text, swapped words marked [[like this]] (TextAttack's plain-text style). */
export function formatResult(r: AttackResult, labelNames?: readonly string[]): string {
  const name = (l: number): string => labelNames?.[l] ?? String(l);
  const head = `[${r.status.toUpperCase()}] label ${name(r.originalLabel)}: ${name(r.originalPrediction)} -> ${name(r.perturbedPrediction)} (${r.queries} queries)`;
  const field = r.attackedField;
  const orig = r.original[field] ?? "";
  if (r.changes.length === 0) return `${head}\n${orig}`;
  // The perturbed text is the original split with some words swapped, so both can be rebuilt marked.
  const seg = new SegmentedText(orig);
  const swapped = new Map(r.changes.map((c) => [c.index, c.perturbed]));
  let a = seg.seps[0]!;
  let b = a;
  seg.words.forEach((w, i) => {
    const p = swapped.get(i);
    a += (p === undefined ? w : `[[${w}]]`) + seg.seps[i + 1]!;
    b += (p === undefined ? w : `[[${p}]]`) + seg.seps[i + 1]!;
  });
  const other = field === "pair" ? `${r.original.text}\n` : "";
  return `${head}\n${other}${a}\n${b}`;
}
