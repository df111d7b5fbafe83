// The tokenizer implementation the core runs on, chosen at the edge like the onnxruntime binding: Node
// registers Hugging Face's native `tokenizers` binding (src/node/runtime.ts); a browser would register a
// pure-JS one once it is shown to tokenize identically (today @huggingface/tokenizers differs on rare
// Unicode, empty pair texts and the native truncation order, so it is not used).
import { ConfigError } from "../errors.ts";

/** One encoded text or pair (the native binding's Encoding has exactly these methods). */
export interface Encoding {
  getIds(): number[];
  getTypeIds(): number[];
  getTokens(): string[];
  /** 1 where the post-processor added a special token. */
  getSpecialTokensMask(): number[];
}

/** A loaded tokenizer.json. Calls are made one at a time (Tokenizer serialises them). */
export interface TokenizerEngine {
  getVocabSize(withAddedTokens: boolean): number;
  tokenToId(token: string): number | null;
  idToToken(id: number): string | null;
  encode(text: string, pair: string | null, addSpecialTokens: boolean): Promise<Encoding>;
  /** With special tokens; `maxLength` truncates "longest_first" (pairs) or from the end; null: untruncated. */
  encodeBatch(texts: readonly string[], pairs: readonly string[] | null, maxLength: number | null): Promise<Encoding[]>;
  decode(ids: readonly number[], skipSpecialTokens: boolean): Promise<string>;
}

/** Builds an engine from tokenizer.json text; throws (any error) when the implementation refuses the file. */
export type TokenizerEngineFactory = (tokenizerJson: string) => TokenizerEngine;

let registered: TokenizerEngineFactory | null = null;

/** Registers the implementation tokenizers loaded from now on use (null: none); returns the one it replaces. */
export function setTokenizerEngine(factory: TokenizerEngineFactory | null): TokenizerEngineFactory | null {
  const previous = registered;
  registered = factory;
  return previous;
}

export function requireTokenizerEngine(): TokenizerEngineFactory {
  if (registered) return registered;
  throw new ConfigError('no tokenizer implementation is registered: in Node import "rose" (or src/node/runtime.ts) first');
}
