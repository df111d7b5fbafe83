#!/usr/bin/env node
// In a checkout (src/ beside bin/) the CLI runs from the TypeScript source through tsx, so edits need no
// build step and a stale dist/ is never run; the installed package ships no src/, only the compiled
// dist/, which plain node runs (tsx is a devDependency).
import { existsSync } from "node:fs";

const source = new URL("../src/cli/main.ts", import.meta.url);
if (existsSync(source)) {
  const { register } = await import("tsx/esm/api");
  register();
  await import(source.href);
} else {
  await import("../dist/cli/main.js");
}
