// A look inside a js_shared_dict_zone for t/120-registry.t: what the session registry and shm storage
// really keep, so a test can check that hash_subject leaves no plain subject in the zone and that a
// revocation deletes the session's record. Plain JavaScript both engines accept. Never loaded by the
// product.

// GET ?zone=NAME (default "sessions"): every key of the zone, sorted, one a line.
function keys(r) {
    var zone = ngx.shared[r.args.zone || 'sessions'];
    if (!zone) return r.return(404, 'no zone\n');
    var names = zone.keys();
    names.sort();
    r.headersOut['Content-Type'] = 'text/plain';
    r.return(200, names.join('\n') + (names.length ? '\n' : ''));
}

export default { keys: keys };
