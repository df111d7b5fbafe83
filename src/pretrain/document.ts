/** One document of the pre-training corpus: held-out selection is per document, so no text of a held-out document is trained on. */
export interface CorpusDocument {
  id: string;
  lines: string[];
}
