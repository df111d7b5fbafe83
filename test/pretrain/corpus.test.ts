import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildCorpus, cleanText, heldoutIds, splitLong, wordnetSynsetText, type CorpusDocument } from "../../src/pretrain/corpus.ts";
import { ConfigError, FormatError } from "../../src/errors.ts";

const ABLE =
  '00001740 00 a 01 able 0 005 = 05207437 n 0000 = 05624029 n 0000 + 05624029 n 0101 + 05207437 n 0101 ! 00002098 a 0101 | (usually followed by `to\') having the necessary means or skill or know-how or authority to do something; "able to swim"; "she was able to program her computer"  ';

test("WordNet synset lines become 'lemma: definition. example. example.'", () => {
  assert.equal(
    wordnetSynsetText(ABLE),
    "able: (usually followed by `to') having the necessary means or skill or know-how or authority to do something. able to swim. she was able to program her computer.",
  );
  // Attributions after a quote are dropped; a ';' inside a quote does not split; lemma markers and '_' go.
  const quote =
    '05000001 07 n 02 mercy_killing(a) 0 euthanasia 0 000 | leniency; "the quality of mercy is not strained; it droppeth"--Shakespeare; "seven kine"- Bible  ';
  assert.equal(wordnetSynsetText(quote), "mercy killing: leniency. the quality of mercy is not strained; it droppeth. seven kine.");
  assert.equal(wordnetSynsetText("  1 This software and database is being provided to you, the LICENSEE, by  "), null);
  assert.equal(wordnetSynsetText(""), null);
});

test("cleanText and splitLong", () => {
  assert.equal(cleanText("  a\t b\n\nc\u200b d\u0007 "), "a b c d");
  const sentences = Array.from({ length: 40 }, (_, i) => `Sentence number ${i} says something fairly ordinary, doesn't it?`);
  const text = sentences.join(" ");
  const groups = splitLong(text, 200);
  assert.ok(groups.length > 10);
  for (const g of groups) {
    assert.ok(g.length <= 200, g);
    assert.match(g, /^Sentence number \d+ .*\?$/); // cut only at sentence ends
  }
  assert.equal(groups.join(" "), text);
  // One sentence longer than the limit is cut at spaces.
  const long = "word ".repeat(100).trim();
  for (const g of splitLong(long, 50)) assert.ok(g.length <= 50 && g.length > 0);
  assert.equal(splitLong(long, 50).join(" "), long);
  assert.deepEqual(splitLong("short.", 50), ["short."]);
});

test("held-out documents: about the fraction, at least one, stable and order-independent", () => {
  const docs: CorpusDocument[] = Array.from({ length: 1000 }, (_, i) => ({ id: `d${i}`, lines: [] }));
  const h = heldoutIds(docs, 0.01);
  assert.equal(h.size, 10);
  assert.deepEqual([...heldoutIds([...docs].reverse(), 0.01)].sort(), [...h].sort());
  assert.equal(heldoutIds(docs.slice(0, 5), 0.01).size, 1);
  assert.equal(heldoutIds(docs.slice(0, 1), 0.01).size, 0);
  assert.equal(heldoutIds(docs, 0).size, 0);
});

function fixture(): { root: string; dirs: { sotu: string; "moby-dick": string; wordnet: string } } {
  const root = mkdtempSync(join(tmpdir(), "rose-corpus-"));
  const dirs = { sotu: join(root, "sotu"), "moby-dick": join(root, "moby"), wordnet: join(root, "wn") };
  for (const d of Object.values(dirs)) mkdirSync(d);
  for (let i = 0; i < 30; i++) {
    const speech = Array.from({ length: 30 }, (_, j) => `Speech ${i} makes point ${j} to the Congress at length. [Applause]`).join(" ");
    writeFileSync(join(dirs.sotu, `${1800 + i}_some_president_x.txt`), speech);
    writeFileSync(join(dirs.sotu, `${1800 + i}_some_president_x.json`), JSON.stringify({ text: "must not be read" }));
  }
  for (let i = 1; i <= 20; i++) {
    const paras = [
      `CHAPTER ${i}. Title.`,
      `Chapter ${i} first paragraph,\nwrapped over\ntwo lines.`,
      "Short.",
      `Chapter ${i} second paragraph is here.`,
    ];
    writeFileSync(join(dirs["moby-dick"], `chapter_${i}.txt`), paras.join("\n\n"));
  }
  writeFileSync(join(dirs["moby-dick"], "contents.txt"), "CONTENTS\n\nCHAPTER 1. Title of a long chapter in the contents.");
  for (const pos of ["noun", "verb", "adj", "adv"]) {
    const lines = ["  1 license header line that must be skipped entirely  "];
    for (let i = 0; i < 50; i++)
      lines.push(
        `${String(i).padStart(8, "0")} 03 ${pos[0]} 01 ${pos}word${i} 0 000 | a ${pos} sense number ${i}; "an example of ${pos} ${i}"  `,
      );
    writeFileSync(join(dirs.wordnet, `data.${pos}`), `${lines.join("\n")}\n`);
  }
  return { root, dirs };
}

test("buildCorpus reads each source, cleans, drops short lines and holds out whole documents", () => {
  const { root, dirs } = fixture();
  try {
    const c = buildCorpus({ dirs });
    const s = c.stats.sources;
    assert.deepEqual([s.sotu?.documents, s["moby-dick"]?.documents, s.wordnet?.documents], [30, 20, 200]);
    assert.deepEqual([s.sotu?.heldoutDocuments, s["moby-dick"]?.heldoutDocuments, s.wordnet?.heldoutDocuments], [1, 1, 2]);
    assert.equal(c.train.length, c.stats.total.trainLines);
    assert.equal(c.heldout.length, c.stats.total.heldoutLines);
    const all = [...c.train, ...c.heldout];
    assert.equal(
      c.stats.total.chars,
      all.reduce((n, l) => n + l.length, 0),
    );
    assert.equal(
      c.stats.total.words,
      all.reduce((n, l) => n + l.split(" ").length, 0),
    );
    for (const l of all) {
      assert.ok(l.length >= 20 && l.length <= 1000, l);
      assert.equal(l, cleanText(l));
      assert.doesNotMatch(l, /Applause|must not be read|license|CHAPTER|Short\./);
    }
    assert.ok(
      c.train.includes("Chapter 7 first paragraph, wrapped over two lines.") ||
        c.heldout.includes("Chapter 7 first paragraph, wrapped over two lines."),
    );
    assert.ok(all.includes("nounword3: a noun sense number 3. an example of noun 3."));
    // A held-out document contributes no line to train.
    const heldChapters = new Set(c.heldout.map((l) => /^Chapter (\d+) /.exec(l)?.[1]).filter(Boolean));
    assert.equal(heldChapters.size, 1);
    for (const l of c.train) assert.ok(!heldChapters.has(/^Chapter (\d+) /.exec(l)?.[1]));
    // Deterministic.
    assert.deepEqual(buildCorpus({ dirs }), c);
    // A cap keeps each source's share of the training text.
    const capped = buildCorpus({ dirs, maxTrainChars: Math.floor(c.stats.total.chars / 2) });
    assert.ok(capped.train.join("").length <= c.stats.total.chars / 2);
    assert.ok(capped.stats.sources.sotu!.trainDocuments > 0 && capped.stats.sources.wordnet!.trainDocuments > 0);
    assert.deepEqual(capped.heldout, c.heldout);
    // Source selection.
    const only = buildCorpus({ dirs, sources: ["wordnet"] });
    assert.deepEqual(Object.keys(only.stats.sources), ["wordnet"]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("buildCorpus errors name the problem", () => {
  const { root, dirs } = fixture();
  try {
    assert.throws(() => buildCorpus({ dirs: { ...dirs, sotu: join(root, "nope") } }), ConfigError);
    rmSync(join(dirs.wordnet, "data.adv"));
    assert.throws(
      () => buildCorpus({ dirs }),
      (e: unknown) => e instanceof FormatError && /data\.adv/.test(e.message),
    );
    assert.throws(() => buildCorpus({ dirs, heldoutFraction: 1 }), ConfigError);
    assert.throws(() => buildCorpus({ dirs, sources: [] }), ConfigError);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("the installed Moby-Dick package reads as 138 documents", () => {
  const c = buildCorpus({ sources: ["moby-dick"] });
  const s = c.stats.sources["moby-dick"]!;
  assert.equal(s.documents, 138); // etymology, extracts, 135 chapters, epilogue
  assert.equal(s.heldoutDocuments, 1);
  assert.ok(s.chars > 1_100_000 && s.chars < 1_300_000, String(s.chars));
  assert.ok(c.train.some((l) => l.startsWith("Call me Ishmael.")) || c.heldout.some((l) => l.startsWith("Call me Ishmael.")));
});
