// The large data sets in ../shared/data (beside the checkout; CI has them, a fresh clone does not), and the
// small slices of them committed in test/fixtures/data (written by test/fixtures/slice-shared.ts).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Path of a file under ../shared/data. */
export function sharedData(rel: string): string {
  return fileURLToPath(new URL(`../../../shared/data/${rel}`, import.meta.url));
}

/** A skip reason naming the missing file under ../shared/data, or false when it is there. */
export function needsSharedData(rel: string): string | false {
  return existsSync(sharedData(rel)) ? false : `needs ../shared/data/${rel}, which is not beside this checkout`;
}

/** Path of a committed fixture slice under test/fixtures/data. */
export function fixtureData(name: string): string {
  return fileURLToPath(new URL(`../fixtures/data/${name}`, import.meta.url));
}
