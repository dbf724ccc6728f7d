/**
 * String search values are compared in one canonical form, computed in JS so that every
 * PostgreSQL cluster (whatever its locale) gives the same results: Unicode NFKD, combining marks
 * removed, lower case. The index stores this form; search inputs are normalised the same way.
 */
export function normalizeString(value: string): string {
  return value.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
}
