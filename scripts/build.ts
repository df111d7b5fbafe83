// `npm run build` (and `npm pack` through prepack): compiles src/ to dist/ (JavaScript + .d.ts; tsc's
// rewriteRelativeImportExtensions turns the source's `.ts` imports into `.js`), then copies the files
// the code reads at run time beside the compiled modules (e.g. report/client.js), so that
// `new URL("./client.js", import.meta.url)` finds them in dist/ exactly as in src/.
import { execFileSync } from "node:child_process";
import { cpSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { extname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const src = join(root, "src");
const dist = join(root, "dist");
// Sources and assembler input: compiled or not needed at run time.
const NOT_SHIPPED = new Set([".ts", ".wat"]);

rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
execFileSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json")], { stdio: "inherit" });
let copied = 0;
for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || NOT_SHIPPED.has(extname(entry.name))) continue;
  const from = join(entry.parentPath, entry.name);
  cpSync(from, join(dist, relative(src, from)));
  copied++;
}
console.log(`built ${relative(root, dist)}/ (${copied} asset${copied === 1 ? "" : "s"} copied)`);
