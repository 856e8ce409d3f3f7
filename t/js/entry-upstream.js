// Upstreams and backends for the entry-point tests (t/050-access.t .. t/080-isolation.t): what a
// protected application behind nginx would see. Plain JavaScript both engines accept (no
// destructuring, no Buffer). Never loaded by the product.

// Headers nginx adds to every proxied request itself, or that Test::Nginx sends: not interesting.
var SKIPPED = ['host', 'connection', 'user-agent', 'content-length'];

// A Cookie header with long values (session cookies) abbreviated, so bodies stay exact.
function shortCookies(value) {
    return value.split(';').map(function (part) {
        var text = part.trim();
        var equals = text.indexOf('=');
        if (equals < 0 || text.length - equals - 1 < 64) return text;
        return text.substring(0, equals) + '=<' + (text.length - equals - 1) + ' chars>';
    }).join('; ');
}

// Every request header the upstream got (sorted by name, lower case), one "name: value" line each.
function headers(r) {
    var raw = r.rawHeadersIn;
    var lines = [];
    for (var i = 0; i < raw.length; i++) {
        var name = String(raw[i][0]).toLowerCase();
        if (SKIPPED.indexOf(name) >= 0) continue;
        var value = String(raw[i][1]);
        lines.push(name + ': ' + (name === 'cookie' ? shortCookies(value) : value));
    }
    lines.sort();
    if (r.args.set_cookie) r.headersOut['Set-Cookie'] = 'app=' + r.args.set_cookie + '; Path=/';
    r.headersOut['Content-Type'] = 'text/plain';
    r.return(200, r.method + ' ' + r.variables.request_uri + '\n' + lines.join('\n') + (lines.length ? '\n' : ''));
}

// The method, the Content-Type and the body the upstream got: what a check that read the body left of it.
function body(r) {
    r.headersOut['Content-Type'] = 'text/plain';
    r.return(200, r.method + ' ' + (r.headersIn['Content-Type'] || '-') + '\n' + (r.requestText || ''));
}

// The subject the upstream got, after a delay (ms from ?ms=, default 100): lets requests overlap in
// one worker. Answers "tag=<tag> subject=<X-Subject>".
function slow(r) {
    var ms = Number(r.args.ms || 100);
    var subject = r.headersIn['X-Subject'];
    setTimeout(function () {
        r.headersOut['Content-Type'] = 'text/plain';
        r.return(200, 'tag=' + (r.args.tag || '') + ' subject=' + (subject === undefined ? '' : subject) + '\n');
    }, ms);
}

function formValue(body, name) {
    var parts = String(body || '').split('&');
    for (var i = 0; i < parts.length; i++) {
        var equals = parts[i].indexOf('=');
        if (equals > 0 && decodeURIComponent(parts[i].substring(0, equals)) === name) {
            return decodeURIComponent(parts[i].substring(equals + 1).replace(/\+/g, ' '));
        }
    }
    return undefined;
}

// A login backend: POST user=alice&password=wonderland (form body) passes. ?verdict= picks what a
// passing login answers:
//   (none)      X-Session-Login {"subject":"alice","data":{"email":"a@x"},"redirect":"/app/"}, 200
//   evil        the same with "redirect":"//evil.example"
//   noredirect  the same without "redirect": the backend's own 200 page goes through
//   invalid     X-Session-Login: not-json
//   remember    the default verdict plus "remember":true
//   denied401   a valid verdict header on a 401 answer (must be ignored)
// GET (no credentials) answers the login page: 200 with a form and no verdict; a failed POST answers
// 401 with a form and no verdict. Every answer carries X-Backend: login and
// echoes the request's X-Session-Login header (if any) as X-Client-Verdict-Seen (never as a verdict).
// Hex digits deflate cannot squeeze much: data that outgrows the cookie's nine chunks.
function noise(size) {
    var out = '', seed = 12345;
    while (out.length < size) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        out += (seed >>> 8).toString(16);
    }
    return out.substring(0, size);
}

function loginBackend(r) {
    var body = r.requestText;
    var user = formValue(body, 'user');
    var password = formValue(body, 'password');
    var verdict = r.args.verdict || '';
    r.headersOut['X-Backend'] = 'login';
    r.headersOut['Content-Type'] = 'text/html';
    if (r.headersIn['X-Session-Login'] !== undefined) r.headersOut['X-Client-Verdict-Seen'] = 'yes';
    var ok = r.method === 'POST' && user === 'alice' && password === 'wonderland';
    var decision = { subject: 'alice', data: { email: 'a@x' }, redirect: '/app/' };
    if (verdict === 'denied401') {
        r.headersOut['X-Session-Login'] = JSON.stringify(decision);
        r.return(401, '<form>denied anyway</form>\n');
        return;
    }
    if (r.method === 'GET') {
        r.return(200, '<form>log in</form>\n');
        return;
    }
    if (!ok) {
        r.return(401, '<form>bad credentials</form>\n');
        return;
    }
    if (verdict === 'evil') decision.redirect = '//evil.example';
    if (verdict === 'noredirect') delete decision.redirect;
    if (verdict === 'remember') decision.remember = true;
    if (verdict === 'newline') decision.redirect = '/\n';
    if (verdict === 'bigdata') decision.data = { noise: noise(48000) };
    var text = verdict === 'invalid' ? 'not-json' : JSON.stringify(decision);
    // Built as text: JSON.stringify itself may not write 5,000 levels.
    if (verdict === 'deep') text = '{"subject":"alice","data":{"name":' + '['.repeat(5000) + '1' + ']'.repeat(5000) + '}}';
    r.headersOut['X-Session-Login'] = text;
    r.return(200, 'welcome ' + user + '\n');
}

export default { headers: headers, body: body, slow: slow, loginBackend: loginBackend };
