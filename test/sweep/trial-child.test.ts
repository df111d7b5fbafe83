// A trial process whose parent is gone by the time it has loaded (a sweep killed while its trial starts)
// exits without training: the disconnect happened before its listener existed, and it must still see it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { GOLDEN_BERT, writeSentimentData } from "../helpers/synthetic.ts";

const CHILD = fileURLToPath(new URL("../../src/sweep/trial-child.ts", import.meta.url));

test("a trial child disconnected while still loading exits with 130 and trains nothing", async () => {
  const data = writeSentimentData(16, 8);
  const out = join(mkdtempSync(join(tmpdir(), "rose-trial-child-")), "run");
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      CHILD,
      "--sweep-extra={}",
      "--model",
      GOLDEN_BERT,
      "--train-file",
      data.train,
      "--output-dir",
      out,
      "--num-train-epochs",
      "1",
      "--batch-size",
      "8",
      "--quiet",
    ],
    { stdio: ["ignore", "ignore", "pipe", "ipc"] },
  );
  // At once: the child is still importing its modules, long before its disconnect listener is attached.
  child.disconnect();
  const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
  assert.equal(code, 130);
  assert.ok(!existsSync(join(out, "model.safetensors")), "it trained");
});
