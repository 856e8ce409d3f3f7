/**
 * Where a store incident's mark lives in the njs_session_cache zone (remote.ts opens and ends
 * incidents): also read by the njs engine's warm check, which leaves any read made during an incident
 * to the full check, so that the incident's end is logged where it was opened.
 */
export function incidentKey(store: string): string {
  return "@store-incident:" + store;
}
