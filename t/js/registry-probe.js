// A look inside a js_shared_dict_zone for the t/ files: what the session registry and shm storage
// really keep, so a test can check that hash_subject leaves no plain subject in the zone and that a
// revocation deletes the session's record (t/120-registry.t), what the verified-session cache holds
// (t/130-verified-cache.t), and the known answers (t/135-known-answers.t). Plain JavaScript both
// engines accept. Never loaded by the product.

// GET ?zone=NAME (default "sessions"): every key of the zone, sorted, one a line.
function keys(r) {
    var zone = ngx.shared[r.args.zone || 'sessions'];
    if (!zone) return r.return(404, 'no zone\n');
    var names = zone.keys();
    names.sort();
    r.headersOut['Content-Type'] = 'text/plain';
    r.return(200, names.join('\n') + (names.length ? '\n' : ''));
}

// GET ?zone=NAME&prefix=P: every key of the zone that starts with P and its value, one a line
// (key, TAB, value, their line feeds as "|"); with &extend=S, each such entry set again to live S
// seconds more (t/135: a known answer kept past the second it holds until).
function entries(r) {
    var zone = ngx.shared[r.args.zone || 'sessions'];
    if (!zone) return r.return(404, 'no zone\n');
    var prefix = r.args.prefix || '';
    var names = zone.keys().filter(function (name) { return name.indexOf(prefix) === 0; });
    names.sort();
    var lines = names.map(function (name) {
        var value = zone.get(name);
        if (r.args.extend) zone.set(name, value, Number(r.args.extend) * 1000);
        return name.split('\n').join('|') + '\t' + String(value).split('\n').join('|') + '\n';
    });
    r.headersOut['Content-Type'] = 'text/plain';
    r.return(200, lines.join(''));
}

export default { keys: keys, entries: entries };
