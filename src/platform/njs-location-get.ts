/**
 * memcached reads through nginx's own memcached module (memcached.read_locations): a subrequest of the
 * request being checked to an internal location that memcached_passes the key to an upstream with a
 * keepalive pool. It spares the session check ngx.fetch and the store bridge's two stream hops; writes,
 * deletes and metadata still go through the bridge (docs/several-nodes.md, "memcached reads through
 * memcached_pass").
 *
 * The location sets `$memcached_key $arg_k`: nginx neither decodes the argument nor lets a key hold
 * "&" (where $arg_k would end) or "%" (which memcached_pass escapes), so memcached.ts sends such keys
 * through the bridge instead.
 */

/** memcached_pass's answers: the item's value, or 404 when memcached has no such item. */
const FOUND = 200;
const NOT_FOUND = 404;

export function njsLocationGet(host: unknown, location: string, key: string): Promise<unknown> {
  try {
    // The arguments as a string, not in an options object (one object fewer a read).
    return (host as NginxHTTPRequest).subrequest(location, "k=" + key);
  } catch (e) {
    // njs refuses a subrequest of an in-memory subrequest: said as a failed read, never thrown past the check.
    return Promise.reject(e);
  }
}

export function njsLocationValue(answer: unknown): string | null {
  const reply = answer as NginxHTTPRequest;
  // Only the documented location sets $memcached_key. A misnamed one answers whatever serves that
  // path (a 404 would read as "no record", a page as a record that never matches): refused as a store
  // incident, so the operator sees it at once and protected locations fail closed.
  if (!reply.variables.memcached_key) throw new Error("is not a memcached_pass location (it set no $memcached_key)");
  const status = reply.status;
  if (status === FOUND) {
    const text = reply.responseText;
    return text === undefined ? "" : text;
  }
  if (status === NOT_FOUND) return null;
  throw new Error("memcached_pass location answered " + status);
}
