/**
 * store_revalidate, the bounded-staleness mode of redis and memcached storage: a node that asked the
 * store about a session (its record still the one decrypted, not revoked) may answer that session's
 * requests from its verified cache, without asking again, for store_revalidate milliseconds.
 *
 * The guarantee (docs/several-nodes.md): a logout, revocation or rotation made through any node at
 * time T holds on every node for every request that starts after T + store_revalidate (plus the round
 * trip of the write that made it). Before that, a node may still pass the session it saw valid. 0,
 * the default, asks the store on every request.
 *
 * Why per session rather than a revocation feed that each node polls (weighed; docs/NOTES.md): the
 * mark is one write per session per node per bound, works for every store (memcached has no stream),
 * needs no js_periodic in nginx.conf, and cannot miss an event: a node that has not asked within the
 * bound asks, and a store that cannot answer then fails closed. A feed would save the per-session asks
 * (warm traffic would not touch the store at all) but must carry every kind of change (logouts by
 * record deletion, rotations, revocations), be trimmed, and be trusted to be complete.
 *
 * The marks (by session id, the millisecond the store confirmed it) live in the njs_session_cache
 * zone, shared by the workers and kept between requests under the njs engine, with the bound as their
 * timeout; without the zone (or when it is full) in the worker's memory (retained.ts), where the njs
 * engine keeps nothing: it then asks every time, which is the safe side. A check that passes a session
 * within the bound also keeps its answer for the Cookie header, ending where the mark does
 * (known-answers.ts confirmedAnswerOf).
 */

import { DEFAULT_VERIFIED_CACHE_ZONE } from "./options";
import type { Platform } from "./platform";
import { retainedTable } from "./retained";

/** The largest store_revalidate: how long a logout may go unseen on a node must stay short. */
export const MAX_STORE_REVALIDATE_MS = 60000;

const MARK_PREFIX = "@asked:";
/** Sessions a worker remembers asking about without the zone; beyond, the oldest are asked again. */
const MEMORY_MARKS = 4096;

/**
 * When this node's store last confirmed session `sid` (base64url), in milliseconds (Date.now()), if less
 * than `boundMs` ago; undefined otherwise. A mark the zone holds is recent (the zone expires it with the
 * bound); one without a readable time (an older version's "1") reads as confirmed long ago: it still
 * passes, but nothing can be kept past it (known-answers.ts confirmedAnswerOf).
 */
export function confirmedWithin(platform: Pick<Platform, "sharedDict">, sid: string, boundMs: number): number | undefined {
  const dict = platform.sharedDict ? platform.sharedDict(DEFAULT_VERIFIED_CACHE_ZONE) : undefined;
  if (dict) {
    try {
      const mark = dict.get(MARK_PREFIX + sid);
      if (mark !== undefined) {
        const at = Number(mark);
        return at > 0 ? at : 1;
      }
    } catch (e) {
      // Unreadable zone: memory only (or ask).
    }
  }
  const askedAt = retainedTable<number>("store answers", MEMORY_MARKS).get(sid);
  return askedAt !== undefined && Date.now() - askedAt < boundMs ? askedAt : undefined;
}

/** Marks session `sid` as confirmed now (its record was there and it was not revoked). */
export function markAsked(platform: Pick<Platform, "sharedDict">, sid: string, boundMs: number): void {
  const at = Date.now();
  const dict = platform.sharedDict ? platform.sharedDict(DEFAULT_VERIFIED_CACHE_ZONE) : undefined;
  if (dict) {
    try {
      dict.set(MARK_PREFIX + sid, String(at), boundMs);
      return;
    } catch (e) {
      // A full zone: this worker's memory.
    }
  }
  retainedTable<number>("store answers", MEMORY_MARKS).set(sid, at);
}
