// Zip archives (PyTorch's checkpoint container), read with fflate. fflate trusts the central directory, so
// every entry is checked here: a name seen twice, a compression method other than stored or deflate, sizes
// that cannot fit the file, and an entry that comes out shorter than declared (a truncated archive) are
// refused with the archive named.
import { unzipSync, type UnzipFileInfo } from "fflate";
import { FormatError } from "../errors.ts";

/** Deflate cannot expand data by more than about 1032:1; a larger declared size is a lie, not a model. */
const MAX_DEFLATE_RATIO = 1032;

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];

/** Whether the bytes start like a zip archive (a local file header). */
export function looksLikeZip(bytes: Uint8Array): boolean {
  return ZIP_MAGIC.every((b, i) => bytes[i] === b);
}

/** The entries of a zip archive by name (directories left out). */
export function readZip(bytes: Uint8Array, file: string): Map<string, Uint8Array> {
  const declared = new Map<string, UnzipFileInfo>();
  const check = (info: UnzipFileInfo): boolean => {
    const { name, size, originalSize, compression } = info;
    if (declared.has(name)) throw new FormatError(file, `zip entry ${name} appears twice`);
    declared.set(name, info);
    if (compression !== 0 && compression !== 8)
      throw new FormatError(file, `zip entry ${name} uses compression method ${compression}; only stored and deflated entries are read`);
    if (!Number.isSafeInteger(size) || !Number.isSafeInteger(originalSize) || size < 0 || originalSize < 0 || size > bytes.length)
      throw new FormatError(file, `zip entry ${name} declares ${size} bytes in a ${bytes.length}-byte file: truncated or corrupt`);
    if (compression === 0 && size !== originalSize)
      throw new FormatError(file, `zip entry ${name} is stored but declares ${size} stored and ${originalSize} original bytes`);
    if (compression === 8 && originalSize > size * MAX_DEFLATE_RATIO + 1024)
      throw new FormatError(file, `zip entry ${name} declares ${originalSize} bytes from ${size} compressed: corrupt`);
    return !name.endsWith("/");
  };
  let raw: Record<string, Uint8Array>;
  try {
    raw = unzipSync(bytes, { filter: check });
  } catch (e) {
    if (e instanceof FormatError) throw e;
    throw new FormatError(file, `not a readable zip archive, or truncated (${(e as Error).message})`);
  }
  const out = new Map<string, Uint8Array>();
  for (const [name, info] of declared) {
    if (name.endsWith("/")) continue;
    const data = raw[name];
    if (data === undefined || data.length !== info.originalSize) {
      throw new FormatError(
        file,
        `zip entry ${name} holds ${data?.length ?? 0} of its ${info.originalSize} bytes: the archive is truncated or corrupt`,
      );
    }
    out.set(name, data);
  }
  return out;
}
