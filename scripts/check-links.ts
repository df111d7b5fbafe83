// Checks the relative links of the Markdown documentation: every [text](target) that is not a URL must name a file
// or folder of the checkout, and a #fragment must name a heading of the target (GitHub's heading ids).
//   node --import tsx scripts/check-links.ts [FILE.md ...]   (default: README.md, docs/**/*.md, scripts/README.md, the model card)
// Prints each broken link as FILE:LINE: TARGET (problem); exits 1 when there is one.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

function markdownUnder(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".md"))
    .map((f) => join(dir, f));
}

/** GitHub's heading id: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2, ... */
function headingIds(markdown: string): Set<string> {
  const ids = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of markdown.split("\n")) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    const m = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = m[1]!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    ids.add(n === 0 ? base : `${base}-${n}`);
  }
  return ids;
}

const files =
  process.argv.length > 2
    ? process.argv.slice(2)
    : ["README.md", ...markdownUnder("docs"), "scripts/README.md", "models/rose-mini/README.md"];
const problems: string[] = [];
let checked = 0;
for (const file of files) {
  const text = readFileSync(join(root, file), "utf8");
  let fenced = false;
  text.split("\n").forEach((line, i) => {
    if (/^\s*```/.test(line)) fenced = !fenced;
    if (fenced) return;
    for (const m of line.replace(/`[^`]*`/g, "").matchAll(/\]\(([^)\s]+)\)/g)) {
      const link = m[1]!;
      if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue;
      checked++;
      const [path, fragment] = link.split("#", 2) as [string, string | undefined];
      const target = path ? resolve(root, dirname(file), decodeURIComponent(path)) : join(root, file);
      const where = `${file}:${i + 1}: ${link}`;
      if (path.startsWith("/")) {
        problems.push(`${where} (an absolute path: links must be relative)`);
      } else if (!existsSync(target)) {
        problems.push(`${where} (no such file: ${relative(root, target)})`);
      } else if (
        fragment &&
        statSync(target).isFile() &&
        target.endsWith(".md") &&
        !headingIds(readFileSync(target, "utf8")).has(fragment)
      ) {
        problems.push(`${where} (no heading #${fragment} in ${relative(root, target)})`);
      }
    }
  });
}
for (const p of problems) console.log(p);
console.log(`${checked} relative links in ${files.length} files, ${problems.length} broken`);
process.exit(problems.length ? 1 : 0);
