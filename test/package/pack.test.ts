// The package as a user gets it: `npm pack` (prepack builds dist/), `npm install -g` of the tarball into a
// temporary prefix from npm's cache, then the installed `rose` binary and `import ... from "rose"` in a
// fresh project, both with plain node and outside the checkout (no tsx, no src/).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const run = promisify(execFile);
const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };

// Without the repository's node_modules/.bin on PATH (npm test adds it), so tsx cannot sneak in.
const PATH = (process.env.PATH ?? "")
  .split(":")
  .filter((p) => !p.includes("node_modules"))
  .join(":");
// onnxruntime-node's install script downloads CUDA binaries unless told to skip (README: installing).
const env = { ...process.env, PATH, ONNXRUNTIME_NODE_INSTALL: "skip" };

test('npm pack + npm install -g: `rose --version` and `import { fineTune, DEFAULT_MODEL } from "rose"` run with plain node', {
  timeout: 240_000,
}, async () => {
  const tmp = mkdtempSync(join(tmpdir(), "rose-pack-"));
  try {
    const packed = await run("npm", ["pack", "--json", "--pack-destination", tmp], { cwd: ROOT, env, maxBuffer: 64 << 20 });
    const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as { filename: string; files: { path: string }[] }[];
    const files = info!.files.map((f) => f.path);
    for (const f of [
      "bin/rose.js",
      "dist/index.js",
      "dist/index.d.ts",
      "dist/cli/main.js",
      "dist/optim/adamw-wasm.js",
      "dist/node/runtime.js",
      "models/rose-mini/model.safetensors",
      "LICENSE",
      "README.md",
    ]) {
      assert.ok(files.includes(f), `the tarball ships ${f}`);
    }
    assert.deepEqual(
      files.filter((f) => f.startsWith("src/") || f.startsWith("test/")),
      [],
      "no sources or tests in the tarball",
    );

    const prefix = join(tmp, "prefix");
    await run("npm", ["install", "-g", "--prefix", prefix, "--prefer-offline", "--no-audit", "--no-fund", join(tmp, info!.filename)], {
      cwd: tmp,
      env,
      maxBuffer: 64 << 20,
    });
    const bin = join(prefix, "bin", "rose");
    const v = await run(bin, ["--version"], { cwd: tmp, env });
    assert.equal(v.stdout.trim(), version);

    // A fresh ESM project that depends on the installed package.
    const project = join(tmp, "project");
    mkdirSync(project);
    writeFileSync(join(project, "package.json"), JSON.stringify({ type: "module", private: true }));
    symlinkSync(join(prefix, "lib", "node_modules"), join(project, "node_modules"), "dir");
    writeFileSync(
      join(project, "main.js"),
      `import { fineTune, DEFAULT_MODEL, PretrainedModel, RoseAdamW, dirFiles } from "rose";\n` +
        `const m = await PretrainedModel.load(dirFiles(DEFAULT_MODEL));\n` +
        // The optimizer's update runs in a WebAssembly kernel, embedded in the compiled code.
        `const w = new Float32Array([1, 2, 3, 4]);\n` +
        `new RoseAdamW({ lr: 0.5, weightDecay: 0 }).step({ params: new Map([["w", w]]), grads: new Map([["w", new Float32Array([1, 1, 1, 1])]]) });\n` +
        `console.log(JSON.stringify({ fineTune: typeof fineTune, model: DEFAULT_MODEL, labels: m.cfg.numLabels, w: [...w] }));\n`,
    );
    const r = JSON.parse((await run(process.execPath, ["main.js"], { cwd: project, env })).stdout) as {
      fineTune: string;
      model: string;
      labels: number;
      w: number[];
    };
    assert.equal(r.fineTune, "function");
    assert.equal(r.model, join(prefix, "lib", "node_modules", "rose", "models", "rose-mini"));
    assert.ok(r.labels >= 2);
    // AdamW's first step moves each weight by lr against the gradient's sign.
    assert.deepEqual(
      r.w.map((x) => +x.toFixed(4)),
      [0.5, 1.5, 2.5, 3.5],
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
