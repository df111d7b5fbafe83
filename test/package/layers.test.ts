// The import layers (.dependency-cruiser.cjs), checked by `npm run lint`: the tree keeps them, and an import
// that breaks them fails the check.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DEPCRUISE = join(ROOT, "node_modules/.bin/depcruise");
const run = promisify(execFile);

async function depcruise(cwd: string): Promise<{ code: number; out: string }> {
  try {
    const r = await run(DEPCRUISE, ["src", "--config", join(ROOT, ".dependency-cruiser.cjs"), "--output-type", "err"], { cwd });
    return { code: 0, out: r.stdout };
  } catch (e) {
    const err = e as { code: number; stdout: string };
    return { code: err.code, out: err.stdout };
  }
}

test("src/ keeps its import layers", async () => {
  const r = await depcruise(ROOT);
  assert.equal(r.code, 0, r.out);
});

test("an upward import, a folder importing a higher one and a Node built-in in the core each fail the check", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "rose-layers-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  copyFileSync(join(ROOT, "tsconfig.json"), join(dir, "tsconfig.json"));
  const file = (path: string, text: string) => {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  file("src/cli/main.ts", "export const cli = 1;\n");
  file("src/engine/graph.ts", 'import { cli } from "../cli/main.ts";\nexport const g = cli;\n');
  file("src/infer/predict.ts", 'import { t } from "../train/loop.ts";\nexport const p = t;\n');
  file("src/train/loop.ts", "export const t = 1;\n");
  file("src/models/bert.ts", 'import { readFileSync } from "node:fs";\nexport const b = readFileSync;\n');
  const r = await depcruise(dir);
  assert.notEqual(r.code, 0);
  assert.match(r.out, /layer-engine: src\/engine\/graph\.ts → src\/cli\/main\.ts/);
  assert.match(r.out, /app-not-cli: src\/engine\/graph\.ts → src\/cli\/main\.ts/);
  assert.match(r.out, /layer-infer: src\/infer\/predict\.ts → src\/train\/loop\.ts/);
  assert.match(r.out, /core-no-node-builtins: src\/models\/bert\.ts → (node:)?fs/);
});
