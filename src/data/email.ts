// Turns a raw RFC-822 e-mail into classifier text: decoded Subject plus the readable body
// (MIME parts decoded, HTML tags removed, whitespace collapsed), cut to a length.
// Mail is bytes in many charsets (GB2312, Big5, windows-1254, ...), so parsing works on a "binary string"
// (one char per byte, latin1) and each text is decoded from its bytes with the charset that applies to it.

interface Message {
  headers: Map<string, string>;
  body: string;
}

function parseMessage(raw: string): Message {
  const text = raw.replace(/\r\n/g, "\n");
  const cut = text.indexOf("\n\n");
  const head = cut < 0 ? text : text.slice(0, cut);
  const body = cut < 0 ? "" : text.slice(cut + 2);
  const headers = new Map<string, string>();
  let last: string | null = null;
  for (const line of head.split("\n")) {
    if (/^[ \t]/.test(line) && last !== null) {
      headers.set(last, `${headers.get(last)!} ${line.trim()}`); // folded continuation line
      continue;
    }
    const m = /^([!-9;-~]+):\s*(.*)$/.exec(line);
    if (!m) continue; // mbox "From " line and other noise
    last = m[1]!.toLowerCase();
    if (!headers.has(last)) headers.set(last, m[2]!);
  }
  return { headers, body };
}

function param(value: string, name: string): string | undefined {
  const m = new RegExp(`;\\s*${name}\\s*=\\s*(?:"([^"]*)"|([^;\\s]+))`, "i").exec(value);
  return m ? (m[1] ?? m[2]) : undefined;
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** Text of bytes in a declared charset; undeclared or unknown: UTF-8 when the bytes are valid UTF-8, else windows-1252. */
function decodeBytes(bytes: Uint8Array, charset: string | undefined): string {
  if (charset) {
    try {
      return new TextDecoder(charset.trim().toLowerCase()).decode(bytes);
    } catch {
      // an unknown label: guess below
    }
  }
  try {
    return UTF8.decode(bytes);
  } catch {
    return new TextDecoder("windows-1252").decode(bytes);
  }
}

/** A binary string's bytes (chars above 0xFF, which only decoded text has, as UTF-8). */
function binaryBytes(s: string): Uint8Array {
  return /[\u0100-\uffff]/.test(s) ? Buffer.from(s, "utf8") : Buffer.from(s, "latin1");
}

function quotedPrintableBytes(s: string, underscoreIsSpace = false): Uint8Array {
  const out: number[] = [];
  const src = s.replace(/=\r?\n/g, ""); // soft line breaks
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === "=" && /^[0-9A-Fa-f]{2}$/.test(src.slice(i + 1, i + 3))) {
      out.push(parseInt(src.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (underscoreIsSpace && c === "_") {
      out.push(0x20);
    } else {
      out.push(...binaryBytes(c));
    }
  }
  return Uint8Array.from(out);
}

/** RFC 2047 encoded words (=?charset?Q|B?...?=) in a header; whitespace between adjacent words is dropped. */
export function decodeHeader(value: string): string {
  return value
    .replace(/(\?=)\s+(=\?)/g, "$1$2")
    .replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g, (_, charset: string, enc: string, data: string) => {
      const bytes = enc.toUpperCase() === "B" ? Buffer.from(data, "base64") : quotedPrintableBytes(data, true);
      return decodeBytes(bytes, charset.split("*")[0]);
    });
}

const ENTITIES: Record<string, string> = { nbsp: " ", amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", copy: "©", reg: "®" };

/** Visible text of an HTML fragment. */
export function stripHtml(html: string): string {
  return html
    .replace(/<!--[\s\S]*?-->/g, " ")
    .replace(/<(script|style|head)\b[\s\S]*?<\/\1\s*>/gi, " ")
    .replace(/<[^>]*>/g, " ")
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
      if (e[0] === "#") {
        const code = e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
        return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : " ";
      }
      return ENTITIES[e.toLowerCase()] ?? m;
    });
}

const LOOKS_HTML = /<(html|body|table|div|p|br|font|a)\b/i;
const META_CHARSET = /<meta\b[^>]*\bcharset\s*=\s*["']?([\w.:-]+)/i;

/**
 * The boundary of a MIME body whose Content-Type header is missing (some mail keeps only MIME-Version):
 * a "--" line near the top followed by part headers with a Content-Type.
 */
function inferredBoundary(body: string): string | undefined {
  const lines = body.split("\n", 40);
  for (let i = 0; i < lines.length; i++) {
    const m = /^--(\S.*?)\s*$/.exec(lines[i]!);
    if (!m) continue;
    for (let j = i + 1; j < lines.length && lines[j]!.trim() !== ""; j++) {
      if (/^content-type:/i.test(lines[j]!)) return m[1];
    }
  }
  return undefined;
}

/** `decoded`: the message came as a string already decoded from UTF-8, so its unencoded bodies are UTF-8 now. */
function partText(msg: Message, depth: number, decoded: boolean): string {
  const declared = msg.headers.get("content-type");
  const boundaryGuess = declared === undefined && depth === 0 ? inferredBoundary(msg.body) : undefined;
  const ctype = declared ?? (boundaryGuess ? `multipart/mixed; boundary="${boundaryGuess}"` : "text/plain");
  const media = ctype.split(";")[0]!.trim().toLowerCase();
  if (depth > 8) return "";
  if (media.startsWith("multipart/")) {
    const boundary = param(ctype, "boundary");
    if (!boundary) return decodeBytes(binaryBytes(msg.body), undefined);
    const parts: Message[] = [];
    const chunks = msg.body.split(`--${boundary}`);
    // chunks[0] is the preamble; a chunk starting with "--" is the closing delimiter's epilogue.
    for (const chunk of chunks.slice(1)) {
      if (chunk.startsWith("--")) break;
      parts.push(parseMessage(chunk.replace(/^[ \t]*\n/, "")));
    }
    if (media === "multipart/alternative") {
      const type = (p: Message): string => (p.headers.get("content-type") ?? "text/plain").toLowerCase();
      const best = parts.find((p) => type(p).startsWith("text/plain")) ?? parts.find((p) => type(p).startsWith("text/html")) ?? parts[0];
      return best ? partText(best, depth + 1, decoded) : "";
    }
    return parts.map((p) => partText(p, depth + 1, decoded)).join(" ");
  }
  if (media === "message/rfc822") {
    const inner = parseMessage(msg.body);
    return `${subjectOf(inner, undefined)} ${partText(inner, depth + 1, decoded)}`;
  }
  if (!media.startsWith("text/")) return ""; // attachments, images, signatures
  const cte = (msg.headers.get("content-transfer-encoding") ?? "").trim().toLowerCase();
  const transferEncoded = cte === "base64" || cte === "quoted-printable";
  const bytes =
    cte === "base64"
      ? Buffer.from(msg.body.replace(/\s+/g, ""), "base64")
      : cte === "quoted-printable"
        ? quotedPrintableBytes(msg.body)
        : binaryBytes(msg.body);
  const latin1 = Buffer.from(bytes).toString("latin1");
  const html = media === "text/html" || LOOKS_HTML.test(latin1);
  // HTML without a charset parameter often declares it in a <meta> tag, as browsers read it.
  const charset =
    decoded && !transferEncoded ? undefined : (param(ctype, "charset") ?? (html ? META_CHARSET.exec(latin1)?.[1] : undefined));
  const text = decodeBytes(bytes, charset);
  return html ? stripHtml(text) : text;
}

/** The charset raw 8-bit header bytes that are not UTF-8 are most likely in: the first one the MIME headers declare. */
function headerCharset(raw: string): string | undefined {
  return /^content-type:[^\n]*?charset\s*=\s*"?([\w.:-]+)/im.exec(raw)?.[1];
}

/** The decoded Subject: raw bytes as UTF-8 when they are, else in `charset`; then RFC 2047 encoded words. */
function subjectOf(msg: Message, charset: string | undefined): string {
  const bytes = binaryBytes(msg.headers.get("subject") ?? "");
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    text = decodeBytes(bytes, charset);
  }
  return decodeHeader(text);
}

function truncate(s: string, maxChars: number): string {
  if (s.length <= maxChars) return s;
  let t = s.slice(0, maxChars);
  const last = t.charCodeAt(t.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) t = t.slice(0, -1); // do not split a surrogate pair
  return t;
}

/**
 * "Subject body" of a raw e-mail, whitespace and control characters (NUL and the like, binary junk in a text
 * part) collapsed to single spaces, at most maxChars characters. Give the file's bytes: a string is taken as the
 * message already decoded from UTF-8, which loses 8-bit text in other charsets.
 */
export function cleanEmail(raw: Uint8Array | string, maxChars = 1000): string {
  const bin =
    typeof raw === "string"
      ? Buffer.from(raw, "utf8").toString("latin1")
      : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString("latin1");
  const msg = parseMessage(bin);
  const text = `${subjectOf(msg, headerCharset(bin))} ${partText(msg, 0, typeof raw === "string")}`
    // Whitespace, NUL to space (the C0 controls) and DEL; not the C1 controls that \p{Cc} would add.
    .replace(/[\s\0-\x20\x7f]+/g, " ")
    .trim();
  return truncate(text, maxChars);
}
