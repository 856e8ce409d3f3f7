// Reads a js_shared_dict_zone directly, so tests check what shm storage wrote without going through it.
function get(r) {
    var zone = ngx.shared[r.args.zone];
    if (!zone) return r.return(404, 'no zone\n');
    var value = zone.get(r.args.key);
    if (value === undefined) return r.return(404, 'absent\n');
    r.return(200, String(value));
}

function keys(r) {
    var zone = ngx.shared[r.args.zone];
    if (!zone) return r.return(404, 'no zone\n');
    r.return(200, JSON.stringify(zone.keys(100000).sort()) + '\n');
}

export default { get: get, keys: keys };
