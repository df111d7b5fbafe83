// Ctrl-C and SIGTERM during `rose train`: the terminal comes back (cursor shown, line wrapping on), and
// the message says which checkpoint was saved and the command that resumes. The Ctrl-C run has a real
// pseudo-terminal (util-linux `script`), so the progress bar is drawn as a user sees it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { ROSE_BIN, requirePaths, spawnRose, watch } from "../helpers/child.ts";
import { GOLDEN_BERT } from "../helpers/synthetic.ts";

const tmp = mkdtempSync(join(tmpdir(), "rose-interrupt-"));
const data = join(tmp, "train.tsv");
writeFileSync(
  data,
  "sentence\tlabel\nthe movie was very good .\t1\nthe film is very bad .\t0\nthe plot was very fun .\t1\nthe story is very dull .\t0\n",
);
const trainArgs = (out: string, model = GOLDEN_BERT) => [
  "train",
  "--model",
  model,
  "--task",
  "sst2",
  "--train-file",
  data,
  "--output-dir",
  out,
  "--max-steps",
  "100000",
  "--save-steps",
  "1",
  "--batch-size",
  "2",
  "--threads",
  "1",
];

/** Children of `pid` (the node process that `script`'s shell exec'd into). */
function childrenOf(pid: number): number[] {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, "utf8");
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

const lastIndex = (s: string, sub: string) => s.lastIndexOf(sub);

const barSteps = (output: string) => [...output.matchAll(/ (\d+)\/100000/g)].map((m) => Number(m[1]));

test("Ctrl-C during the progress bar restores the terminal and says how to --resume", { timeout: 180_000 }, async () => {
  const out = join(tmp, "tty-run");
  requirePaths(GOLDEN_BERT, data);
  const cmd = ["exec", process.execPath, ROSE_BIN, ...trainArgs(out)].map((a) => `'${a}'`).join(" ");
  const run = watch(spawn("script", ["-qfec", cmd, "/dev/null"], { cwd: tmp, stdio: ["pipe", "pipe", "pipe"] }), "rose train under script");
  // Step 2 on the bar: step 1's checkpoint is complete.
  await run.until("step 2 on the progress bar", () => barSteps(run.stdout).some((s) => s >= 2), 150_000);
  const [node] = childrenOf(run.child.pid!);
  assert.ok(node, "the node process under script");
  process.kill(node, "SIGINT");
  const { code } = await run.exitWithin(60_000);
  const output = run.stdout;
  assert.equal(code, 130, output);
  // The bar hid the cursor and turned line wrapping off; both are turned back on after that.
  assert.ok(output.includes("\x1b[?25l") && output.includes("\x1b[?7l"), "the bar hid the cursor and line wrapping");
  assert.ok(lastIndex(output, "\x1b[?25h") > lastIndex(output, "\x1b[?25l"), "cursor shown again");
  assert.ok(lastIndex(output, "\x1b[?7h") > lastIndex(output, "\x1b[?7l"), "line wrapping on again");
  assert.match(output, /interrupted \(SIGINT\)/);
  const m = /Saved: the checkpoint of step (\d+) in (\S+) /.exec(output);
  assert.ok(m, output);
  assert.ok(existsSync(join(m[2]!, "model.safetensors")), `${m[2]} holds the checkpoint`);
  assert.match(output, /rose train --model \S+ .*--output-dir \S*tty-run .*--resume/);
  // No bar line is wider than 80 columns (escape sequences aside).
  // Each redraw starts with a move to column 1 (ESC [ 1 G) or a new line.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escape sequences
  const visible = output.split(/\x1b\[\d*G|\r|\n/).map((l) => l.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, ""));
  const bars = visible.filter((l) => l.startsWith("train vanilla ["));
  assert.ok(bars.length > 0);
  for (const l of bars) assert.ok(l.length <= 80, `bar line of ${l.length} columns: ${l}`);
});

test("SIGTERM without a terminal: exit status 143 and the resume command", { timeout: 180_000 }, async () => {
  const out = join(tmp, "pipe-run");
  const run = spawnRose(trainArgs(out), { cwd: tmp, needs: [GOLDEN_BERT, data] });
  // The first checkpoint pointer: the run has something to resume from.
  await run.until("the first checkpoint", () => existsSync(join(out, "last_checkpoint.json")), 150_000);
  run.child.kill("SIGTERM");
  const { code } = await run.exitWithin(60_000);
  const stderr = run.stderr;
  assert.equal(code, 143, stderr);
  assert.match(stderr, /terminated \(SIGTERM\)\. Saved: the checkpoint of step \d+ in \S*pipe-run\/checkpoint-\d+/);
  assert.match(stderr, /\n {2}rose train .* --resume\n/);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escape sequences
  assert.doesNotMatch(stderr, /\x1b\[/, "no escape sequences on a pipe");
});

test("the wait for a child's output fails at once when a path the test needs is missing or the child exits first", async () => {
  const missing = join(tmp, "no-such-model");
  const out = join(tmp, "missing-model-run");
  // The precondition, before anything starts.
  assert.throws(
    () => spawnRose(trainArgs(out, missing), { cwd: tmp, needs: [missing] }),
    /^Error: missing \S*no-such-model: the test needs it$/,
  );
  // The child fails on the missing model: the wait ends with its stderr, not at its 150 s timeout.
  const t0 = performance.now();
  const run = spawnRose(trainArgs(out, missing), { cwd: tmp });
  await assert.rejects(
    run.until("the first checkpoint", () => existsSync(join(out, "last_checkpoint.json")), 150_000),
    (e: Error) =>
      /^rose train exited with 1 before the first checkpoint; its stderr:\nerror: \S*no-such-model: no such model directory/.test(
        e.message,
      ),
  );
  const seconds = (performance.now() - t0) / 1000;
  assert.ok(seconds < 30, `the wait failed after ${seconds.toFixed(1)} s`);
});
