// The progress bar's line: at most 80 columns, no empty field, count and ETA kept when space runs out.
import { test } from "node:test";
import assert from "node:assert/strict";
import { formatBarLine, MAX_BAR_WIDTH } from "../../src/node/progress.ts";

test("bar lines fit 80 columns and show no empty field", () => {
  const empty = formatBarLine("train vanilla", 0, 1000, "", "?");
  assert.equal(empty, `train vanilla [${"░".repeat(30)}] 0/1000 | ETA ?`);
  assert.doesNotMatch(empty, /\|\s*\|/);

  const fields = "epoch 3 | loss 0.6931 | lr 5.00e-5";
  const mid = formatBarLine("train vanilla", 500, 1000, "epoch 3 | loss 0.6931", "1m30s");
  assert.equal(mid.length, MAX_BAR_WIDTH, "the bar takes the room left");
  assert.match(mid, /^train vanilla \[█{10}░{9}\] 500\/1000 \| epoch 3 \| loss 0\.6931 \| ETA 1m30s$/);
  const cut = formatBarLine("train rose-ensemble", 500, 1000, fields, "1m30s");
  assert.ok(cut.length <= MAX_BAR_WIDTH, `${cut.length}: ${cut}`);

  const long = formatBarLine("attack bert-attack", 12345, 100000, `${fields} | succeeded 12 | failed 40 | skipped 3`, "2.5h");
  assert.ok(long.length <= MAX_BAR_WIDTH, `${long.length}: ${long}`);
  assert.match(long, / 12345\/100000 \| .*… \| ETA 2\.5h$/, "fields are cut, count and ETA stay");

  const narrow = formatBarLine("train vanilla", 1, 2, fields, "1s", 40);
  assert.ok(narrow.length <= 40, narrow);
});
