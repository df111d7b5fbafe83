// The Debian corpus sources' cleaning, on small fixtures written here (the packages are not needed).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { ConfigError } from "../../src/errors.ts";
import { buildCorpus } from "../../src/pretrain/corpus.ts";
import {
  dictEntries,
  fortuneCookies,
  gcideBlock,
  glossaryBlock,
  htmlParagraphs,
  looksLikeProse,
  readGcide,
} from "../../src/pretrain/debian-text.ts";

const GCIDE = `00-database-short
   The Collaborative International Dictionary of English v.0.48

Affect \\Af*fect"\\, v. t. [imp. & p. p. {Affected}.] [L. affectus.]
   1. To act upon; to produce an effect or change upon.
      [1913 Webster]

            The climate affected their health and spirits.
                                                  --Macaulay.
      [1913 Webster]

   Syn: influence, move
        [1913 Webster]

aortal \\aortal\\ adj.
   1. of or relating to the aorta
      [WordNet 1.5]
`;

test("GCIDE entries become prose: pronunciations, sources, braces and attributions go; WordNet senses and synonym lists are dropped", () => {
  const entries = dictEntries(GCIDE);
  assert.deepEqual(
    entries.map((e) => e.head.split(" ")[0]),
    ["Affect", "aortal"],
  );
  assert.equal(
    gcideBlock(
      'Affect \\Af*fect"\\, v. t. [imp. & p. p. {Affected}.] [L. affectus.] 1. To act upon; to produce an effect or change upon. [1913 Webster]',
    ),
    "Affect: To act upon; to produce an effect or change upon.",
  );
  assert.equal(
    gcideBlock("The climate affected their health and spirits. --Macaulay. [1913 Webster]"),
    "The climate affected their health and spirits.",
  );
  assert.equal(gcideBlock("Syn: influence, move [1913 Webster]"), null);
  assert.equal(gcideBlock("1. of or relating to the aorta [WordNet 1.5]"), null);
  const dir = mkdtempSync(join(tmpdir(), "rose-gcide-"));
  writeFileSync(join(dir, "gcide.dict.dz"), gzipSync(GCIDE));
  const docs = readGcide(dir);
  assert.deepEqual(docs[0]!.lines, [
    "Affect: To act upon; to produce an effect or change upon.",
    "The climate affected their health and spirits.",
  ]);
  assert.deepEqual(docs[1]!.lines, []);
  assert.throws(
    () => readGcide(join(dir, "missing")),
    (e: unknown) => e instanceof ConfigError && /apt-get install dict-gcide/.test(e.message),
  );
});

test("glossaries, fortunes and HTML keep prose only", () => {
  assert.equal(
    glossaryBlock("<humour> A series of {koans} created at the {MIT AI Lab} long ago."),
    "A series of koans created at the MIT AI Lab long ago.",
  );
  assert.equal(glossaryBlock("0 0000 0000 1 0001 0001"), null);
  assert.deepEqual(
    fortuneCookies(
      "A classic is something that everyone wants to have read\nand nobody wants to read.\n\t\t-- Mark Twain\n%\n  /\\_/\\\n ( o.o )\n%\nShort one.\n",
    ),
    ["A classic is something that everyone wants to have read and nobody wants to read."],
  );
  assert.deepEqual(
    htmlParagraphs("<html><body><p>The optional argument is a bytes-like object.</p><pre>x = 1 + 2 + 3 + 4</pre><p>f(x)</p></body></html>"),
    ["The optional argument is a bytes-like object."],
  );
  assert.equal(looksLikeProse("x = f(a[0], b[1]) + g(c[2]) * 3;"), false);
  assert.equal(looksLikeProse("A sentence of plain words."), true);
});

test("buildCorpus drops exact duplicate lines across sources and splits, and counts them", () => {
  const root = mkdtempSync(join(tmpdir(), "rose-dedup-"));
  const fort = join(root, "fortunes");
  mkdirSync(fort);
  const cookies = Array.from({ length: 40 }, (_, i) => `Fortune number ${i} says that patience is a virtue worth having.`);
  writeFileSync(join(fort, "wisdom"), [...cookies, cookies[3], cookies[7]].join("\n%\n"));
  const c = buildCorpus({ sources: ["fortunes"], dirs: { fortunes: fort }, heldoutFraction: 0.1 });
  const all = [...c.train, ...c.heldout];
  assert.equal(all.length, 40);
  assert.equal(new Set(all).size, 40);
  assert.equal(c.stats.sources.fortunes!.duplicates, 2);
  assert.ok(c.heldout.length >= 1 && c.heldout.every((l) => !c.train.includes(l)));
});
