// Hugging Face's native `tokenizers` binding as the core's TokenizerEngine.
import { Tokenizer as NativeTokenizer, type TruncationOptions } from "tokenizers";
import type { Encoding, TokenizerEngine } from "../io/tokenizer-engine.ts";

/** Bound on concurrent native encode tasks when encoding pairs one by one. */
const PAIR_CHUNK = 512;

export function nativeTokenizerEngine(tokenizerJson: string): TokenizerEngine {
  const native = NativeTokenizer.fromString(tokenizerJson);
  // Padding is done by rose per batch, truncation per call: settings saved in the file would interfere.
  native.disablePadding();
  native.disableTruncation();
  const encode = (text: string, pair: string | null, addSpecialTokens: boolean): Promise<Encoding> =>
    native.encode(text, pair, { addSpecialTokens });
  return {
    getVocabSize: (withAdded) => native.getVocabSize(withAdded),
    tokenToId: (token) => native.tokenToId(token),
    idToToken: (id) => native.idToToken(id),
    encode,
    decode: (ids, skip) => native.decode([...ids], skip),
    async encodeBatch(texts, pairs, maxLength) {
      // The strategy enum is declared `const` in the binding's types; the binding takes its string value.
      if (maxLength !== null)
        native.setTruncation(maxLength, { maxLength, strategy: "LongestFirst", stride: 0 } as unknown as TruncationOptions);
      try {
        if (pairs === null) return await native.encodeBatch([...texts], { addSpecialTokens: true });
        // The binding's batch call takes no pairs: encode them one by one, a bounded number at a time.
        const out: Encoding[] = [];
        for (let start = 0; start < texts.length; start += PAIR_CHUNK) {
          const chunk = [];
          for (let i = start; i < Math.min(texts.length, start + PAIR_CHUNK); i++) chunk.push(encode(texts[i]!, pairs[i]!, true));
          out.push(...(await Promise.all(chunk)));
        }
        return out;
      } finally {
        native.disableTruncation();
      }
    },
  };
}
