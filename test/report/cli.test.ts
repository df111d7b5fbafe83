import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GOLDEN_BERT, writeSentimentData } from "../helpers/synthetic.ts";

const rose = (args: string[]) => spawnSync(process.execPath, ["bin/rose.js", ...args], { encoding: "utf8" });

test("rose train prints the report command, which writes the report; rose landscape prints its sharpness", () => {
  const data = writeSentimentData(16, 8);
  const out = join(mkdtempSync(join(tmpdir(), "rose-cli-")), "run");
  const t = rose(["train", "--model", GOLDEN_BERT, "--train-file", data.train, "--max-steps", "2", "--output-dir", out, "--threads", "1"]);
  assert.equal(t.status, 0, t.stderr);
  const line = t.stderr.split("\n").find((l) => l.startsWith("see the run: rose report "));
  assert.ok(line, `stderr names the report command:\n${t.stderr}`);
  const args = line.replace("see the run: rose ", "").split(" ");
  assert.deepEqual(args, ["report", out, "--out", join(out, "report.html")]);
  execFileSync(process.execPath, ["bin/rose.js", ...args]);
  assert.match(readFileSync(join(out, "report.html"), "utf8"), /uPlot/);

  const l = rose([
    "landscape",
    "--model",
    out,
    "--data",
    data.dev,
    "--dims",
    "1",
    "--points",
    "3",
    "--range=-0.1,0.1",
    "--output-dir",
    join(out, "landscape"),
    "--no-png",
    "--threads",
    "1",
    "--quiet",
  ]);
  assert.equal(l.status, 0, l.stderr);
  const r = JSON.parse(l.stdout) as { sharpness: { model: string; "rise@0.1": number | null; max_rise: number }[] };
  assert.equal(r.sharpness[0]!.model, "run");
  assert.equal(typeof r.sharpness[0]!["rise@0.1"], "number");
  assert.ok(existsSync(join(out, "landscape", "curves.svg")));
  assert.ok(!existsSync(join(out, "landscape", "curves.png")), "--no-png");
  const bad = rose(["landscape", "--model", out, "--data", data.dev, "--range", "0.1", "--quiet"]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /expected lo,hi/);
});
