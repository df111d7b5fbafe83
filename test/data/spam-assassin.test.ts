import { test } from "node:test";
import assert from "node:assert/strict";
import { cleanEmail, decodeHeader, stripHtml } from "../../src/data/email.ts";
import { loadSpamAssassin, loadSpamAssassinBalanced } from "../../src/data/spam-assassin.ts";
import { DataError } from "../../src/errors.ts";

test("balanced sample has both classes, cleaned text, and is deterministic", async () => {
  const a = await loadSpamAssassinBalanced({ perClass: 15, seed: 5 });
  assert.equal(a.filter((e) => e.label === 0).length, 15);
  assert.equal(a.filter((e) => e.label === 1).length, 15);
  for (const e of a) {
    assert.ok(e.text.length > 0 && e.text.length <= 1000);
    assert.doesNotMatch(e.text, /\s{2}|\n/);
    assert.doesNotMatch(e.text, /^(Return-Path|Received|Delivered-To):/m);
  }
  const b = await loadSpamAssassinBalanced({ perClass: 15, seed: 5 });
  assert.deepEqual(a, b);
});

test("groups and limit select messages; labels follow the group", async () => {
  const spam = await loadSpamAssassin({ groups: ["spam-1"], limit: 8, seed: 1, maxChars: 200 });
  assert.equal(spam.length, 8);
  assert.ok(spam.every((e) => e.label === 1 && e.text.length <= 200));
  const ham = await loadSpamAssassin({ groups: ["hard-ham-1"], limit: 4, seed: 1 });
  assert.ok(ham.every((e) => e.label === 0));
  await assert.rejects(loadSpamAssassin({ groups: ["nope" as "spam-1"] }), DataError);
});

test("e-mail cleaning: headers, MIME, quoted-printable, HTML", () => {
  const raw = [
    "From someone Thu Aug 22 2002",
    "Received: from x",
    "Subject: =?iso-8859-1?Q?Caf=E9_deals?=",
    "Content-Type: multipart/alternative; boundary=\"BND\"",
    "",
    "preamble",
    "--BND",
    "Content-Type: text/html",
    "",
    "<html><style>p{}</style><p>HTML &amp; part</p></html>",
    "--BND",
    "Content-Type: text/plain; charset=iso-8859-1",
    "Content-Transfer-Encoding: quoted-printable",
    "",
    "Buy   now=",
    "!  Cr=E8me",
    "--BND--",
  ].join("\n");
  assert.equal(cleanEmail(raw), "Café deals Buy now! Crème");
  assert.equal(decodeHeader("=?utf-8?B?SGVsbG8=?= =?utf-8?Q?_world?="), "Hello world");
  assert.equal(stripHtml("<b>a</b>&lt;b&#62;<!-- c -->").replace(/\s+/g, ""), "a<b>");
  assert.equal(cleanEmail("Subject: hi\n\n" + "x".repeat(5000), 50).length, 50);
});
