// Turns a raw RFC-822 e-mail into classifier text: decoded Subject plus the readable body
// (MIME parts decoded, HTML tags removed, whitespace collapsed), cut to a length.

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

function decodeBytes(bytes: Uint8Array, charset: string | undefined): string {
  try {
    return new TextDecoder(charset?.toLowerCase() ?? "utf-8").decode(bytes);
  } catch {
    return new TextDecoder("latin1").decode(bytes); // unknown charset label
  }
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
      out.push(...Buffer.from(c, "utf8"));
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

function partText(msg: Message, depth: number): string {
  const ctype = msg.headers.get("content-type") ?? "text/plain";
  const media = ctype.split(";")[0]!.trim().toLowerCase();
  if (depth > 8) return "";
  if (media.startsWith("multipart/")) {
    const boundary = param(ctype, "boundary");
    if (!boundary) return msg.body;
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
      return best ? partText(best, depth + 1) : "";
    }
    return parts.map((p) => partText(p, depth + 1)).join(" ");
  }
  if (media === "message/rfc822") {
    const inner = parseMessage(msg.body);
    return `${decodeHeader(inner.headers.get("subject") ?? "")} ${partText(inner, depth + 1)}`;
  }
  if (!media.startsWith("text/")) return ""; // attachments, images, signatures
  const cte = (msg.headers.get("content-transfer-encoding") ?? "").trim().toLowerCase();
  let text = msg.body;
  if (cte === "base64") text = decodeBytes(Buffer.from(text.replace(/\s+/g, ""), "base64"), param(ctype, "charset"));
  else if (cte === "quoted-printable") text = decodeBytes(quotedPrintableBytes(text), param(ctype, "charset"));
  return media === "text/html" || LOOKS_HTML.test(text) ? stripHtml(text) : text;
}

function truncate(s: string, maxChars: number): string {
  if (s.length <= maxChars) return s;
  let t = s.slice(0, maxChars);
  const last = t.charCodeAt(t.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) t = t.slice(0, -1); // do not split a surrogate pair
  return t;
}

/** "Subject body" of a raw e-mail, whitespace collapsed, at most maxChars characters. */
export function cleanEmail(raw: string, maxChars = 1000): string {
  const msg = parseMessage(raw);
  const subject = decodeHeader(msg.headers.get("subject") ?? "");
  const text = `${subject} ${partText(msg, 0)}`.replace(/\s+/g, " ").trim();
  return truncate(text, maxChars);
}
