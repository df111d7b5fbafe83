// Ctrl-C and SIGTERM during `rose train`: the terminal comes back (cursor shown, line wrapping on), and
// the message says which checkpoint was saved and the command that resumes. The Ctrl-C run has a real
// pseudo-terminal (util-linux `script`), so the progress bar is drawn as a user sees it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { GOLDEN_BERT } from "../helpers/synthetic.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "rose-interrupt-"));
const data = join(tmp, "train.tsv");
writeFileSync(
  data,
  "sentence\tlabel\nthe movie was very good .\t1\nthe film is very bad .\t0\nthe plot was very fun .\t1\nthe story is very dull .\t0\n",
);
const trainArgs = (out: string) => [
  "train",
  "--model",
  GOLDEN_BERT,
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

test("Ctrl-C during the progress bar restores the terminal and says how to --resume", { timeout: 180_000 }, async () => {
  const out = join(tmp, "tty-run");
  const cmd = ["exec", process.execPath, join(ROOT, "bin/rose.js"), ...trainArgs(out)].map((a) => `'${a}'`).join(" ");
  const script = spawn("script", ["-qfec", cmd, "/dev/null"], { cwd: tmp, stdio: ["pipe", "pipe", "pipe"] });
  let output = "";
  let signalled = false;
  const exited = new Promise<number | null>((resolve) => script.on("close", (code) => resolve(code)));
  script.stdout.on("data", (d: Buffer) => {
    output += d.toString("utf8");
    // Step 2 on the bar: step 1's checkpoint is complete.
    const steps = [...output.matchAll(/ (\d+)\/100000/g)].map((m) => Number(m[1]));
    if (!signalled && steps.some((s) => s >= 2)) {
      const [node] = childrenOf(script.pid!);
      assert.ok(node, "the node process under script");
      signalled = true;
      process.kill(node, "SIGINT");
    }
  });
  const code = await exited;
  assert.ok(signalled, `the bar never showed step 2:\n${output}`);
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
  // eslint-disable-next-line no-control-regex
  // Each redraw starts with a move to column 1 (ESC [ 1 G) or a new line.
  const visible = output.split(/\x1b\[\d*G|\r|\n/).map((l) => l.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, ""));
  const bars = visible.filter((l) => l.startsWith("train vanilla ["));
  assert.ok(bars.length > 0);
  for (const l of bars) assert.ok(l.length <= 80, `bar line of ${l.length} columns: ${l}`);
});

test("SIGTERM without a terminal: exit status 143 and the resume command", { timeout: 180_000 }, async () => {
  const out = join(tmp, "pipe-run");
  const child = spawn(process.execPath, [join(ROOT, "bin/rose.js"), ...trainArgs(out)], { cwd: tmp, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  // Wait for the first checkpoint pointer: the run has something to resume from.
  while (!existsSync(join(out, "last_checkpoint.json"))) await new Promise((r) => setTimeout(r, 50));
  child.kill("SIGTERM");
  assert.equal(await exited, 143, stderr);
  assert.match(stderr, /terminated \(SIGTERM\)\. Saved: the checkpoint of step \d+ in \S*pipe-run\/checkpoint-\d+/);
  assert.match(stderr, /\n {2}rose train .* --resume\n/);
  assert.doesNotMatch(stderr, /\x1b\[/, "no escape sequences on a pipe");
});
