// A notice channel's `keyword` filter: the channel hears about a core only when the core's path,
// namespace or pod name contains the keyword. One rule for the watcher and for `kubectl coredog doctor`.
export function keywordMatches(keyword: string | undefined, subjects: readonly string[]): boolean {
  if (!keyword) return true;
  return subjects.some((s) => s.includes(keyword));
}
