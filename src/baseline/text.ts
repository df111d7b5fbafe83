// Word n-grams as scikit-learn's CountVectorizer / TfidfVectorizer makes them with their defaults:
// lower-cased text, tokens matching (?u)\b\w\w+\b, n-grams joined by one space.

// Python's Unicode \w is a letter, a number or "_"; a maximal run of two or more of them is exactly what
// \b\w\w+\b matches (JavaScript's own \w and \b are ASCII-only, hence the property classes).
const TOKEN = /[\p{L}\p{N}_]{2,}/gu;

export function wordTokens(text: string, lowercase = true): string[] {
  return (lowercase ? text.toLowerCase() : text).match(TOKEN) ?? [];
}

/** The n-grams of `tokens` for n in [min, max], shortest first, each prefixed with `prefix`. */
export function wordNgrams(tokens: readonly string[], range: readonly [number, number], prefix = ""): string[] {
  const [lo, hi] = range;
  const out: string[] = [];
  for (let n = lo; n <= hi; n++) {
    for (let i = 0; i + n <= tokens.length; i++) out.push(prefix + (n === 1 ? tokens[i]! : tokens.slice(i, i + n).join(" ")));
  }
  return out;
}
