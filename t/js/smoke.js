// Smoke handlers for t/000-smoke.t: prove that the real nginx + njs works
// under the engine the test selected (js_engine njs | qjs).
// Plain JavaScript that both engines accept: no TypeScript, no Buffer (not
// in every QuickJS build), binary data as Uint8Array.

// The engine actually running this code: 'njs' or 'QuickJS' (njs >= 0.8).
function hello(r) {
    r.return(200, njs.engine + '\n');
}

function toHex(buffer) {
    var bytes = new Uint8Array(buffer);
    var out = '';
    for (var i = 0; i < bytes.length; i++) {
        out += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
    }
    return out;
}

// An async handler awaiting WebCrypto. QuickJS rejects a string argument to
// digest(), so the text is encoded to bytes first.
async function digest(r) {
    var text = r.args.text === undefined ? '' : r.args.text;
    var hash = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
    r.return(200, toHex(hash) + '\n');
}

// For the multi-request example: answers the X-Case request header back,
// or 400 when it is missing.
function echoHeader(r) {
    var value = r.headersIn['X-Case'];
    if (value === undefined) {
        r.return(400, 'missing X-Case\n');
        return;
    }
    r.headersOut['X-Seen'] = value;
    r.return(200, value.toUpperCase() + '\n');
}

export default { hello, digest, echoHeader };
