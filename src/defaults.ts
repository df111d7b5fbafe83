// Options objects filled from their defaults. A plain `{ ...DEFAULTS, ...opts }` lets an option passed as
// `undefined` (a CLI flag that was not given) replace its default; here only defined values do.
export function withDefaults<T extends object>(defaults: T, opts: Partial<T>): T {
  const out = { ...defaults };
  for (const [k, v] of Object.entries(opts)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
