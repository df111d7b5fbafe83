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
    'Content-Type: multipart/alternative; boundary="BND"',
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
  assert.equal(cleanEmail(`Subject: hi\n\n${"x".repeat(5000)}`, 50).length, 50);
  // NUL and other control characters (binary junk in a text part) become spaces: files written from it stay text.
  assert.equal(cleanEmail("Subject: a\u0000b\n\nc\u0001\u0007d\u007f e\n"), "a b c d e");
  // The cut does not split a surrogate pair.
  for (let n = 20; n < 30; n++) assert.doesNotThrow(() => encodeURIComponent(cleanEmail(`Subject: s\n\n${"😀".repeat(40)}`, n)));
});

test("e-mail cleaning works on bytes: 8-bit text in the declared charset, a <meta> charset, a lost Content-Type", () => {
  const bytes = (...parts: (string | number[])[]) =>
    Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : Buffer.from(p))));
  // A raw GB2312 Subject (黄山) and a windows-1254 body (ÇEKİLİŞ), each readable only with its charset.
  assert.equal(cleanEmail(bytes("Subject: ", [0xbb, 0xc6, 0xc9, 0xbd], "\nContent-Type: text/plain; charset=gb2312\n\nhi\n")), "黄山 hi");
  assert.equal(
    cleanEmail(bytes('Subject: t\nContent-Type: text/plain; charset="windows-1254"\n\n', [0xc7, 0x45, 0x4b, 0xdd, 0x4c, 0xdd, 0xde], "\n")),
    "t ÇEKİLİŞ",
  );
  // Undeclared: UTF-8 when valid, else windows-1252 (never U+FFFD).
  assert.equal(cleanEmail(bytes("Subject: x\n\ncaf", [0xc3, 0xa9], "\n")), "x café");
  assert.equal(cleanEmail(bytes("Subject: x\n\ncaf", [0xe9], "\n")), "x café");
  // HTML whose charset is only in its <meta> tag (Big5 瑪瑙), quoted-printable.
  const big5 = bytes(
    'Subject: y\nContent-Type: text/html\nContent-Transfer-Encoding: quoted-printable\n\n<html><meta content=3D"text/html; charset=3Dbig5"><p>=BA=BF=B7=EA</p></html>\n',
  );
  assert.equal(cleanEmail(big5), "y 瑪瑙");
  // MIME-Version kept but Content-Type lost: the parts are still found by their boundary.
  const lost = [
    "Subject: z",
    "MIME-Version: 1.0",
    "",
    "This is a multipart MIME message.",
    "",
    "--= Multipart Boundary 06",
    "Content-Type: text/plain",
    "",
    "plain words",
    "--= Multipart Boundary 06",
    "Content-Type: application/octet-stream",
    "Content-Transfer-Encoding: base64",
    "",
    "PGh0bWw+",
    "--= Multipart Boundary 06--",
  ].join("\n");
  assert.equal(cleanEmail(Buffer.from(lost)), "z plain words");
  // A string is taken as already decoded: its 8-bit text stays as it is.
  assert.equal(cleanEmail("Subject: é\nContent-Type: text/plain; charset=iso-8859-1\n\nCrème\n"), "é Crème");
});
