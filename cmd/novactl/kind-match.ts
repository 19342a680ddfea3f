// kubectl-style kind names: `get proxyroute`, `get proxyroutes` and `get ProxyRoute` all mean the
// stored kind ProxyRoute.

/** The stored kind `input` names (exact, then case-insensitive, then plural), or undefined. */
export function matchKind(input: string, stored: readonly string[]): string | undefined {
  if (stored.includes(input)) return input;
  const lower = input.toLowerCase();
  const byLower = stored.filter((k) => k.toLowerCase() === lower);
  if (byLower.length === 1) return byLower[0];
  const plural = stored.filter((k) => [`${k.toLowerCase()}s`, `${k.toLowerCase()}es`, `${k.toLowerCase().replace(/y$/, 'ies')}`].includes(lower));
  return plural.length === 1 ? plural[0] : undefined;
}
