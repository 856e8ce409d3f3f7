// The demo upstream app of `npm start`, plain njs (runs under both engines). It never sees a cookie it
// could trust: it only reads the identity headers nginx sets after njs-session checked the session,
// and it answers the login check with the X-Session-Login verdict that njs-session turns into a
// session. Any user name is accepted with the password "demo".
import qs from "querystring";

var DEMO_PASSWORD = "demo";

function escapeHtml(value) {
    return String(value === undefined || value === null ? "" : value)
        .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
        .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

function localPath(value) {
    return typeof value === "string" && /^\/(?![\/\\])[^\x00-\x1f\x7f]*$/.test(value) ? value : "/app/";
}

function page(title, body) {
    return "<!doctype html><html><head><meta charset=\"utf-8\"><title>" + escapeHtml(title) + "</title>" +
        "<style>body{font-family:sans-serif;max-width:42em;margin:3em auto;color:#222}" +
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}" +
        "input{margin:.2em 0}.note{color:#666;font-size:.9em}</style></head><body>" + body + "</body></html>\n";
}

function loginForm(r) {
    var returnTo = localPath(r.args.return_to);
    var error = r.args.error ? "<p id=\"error\" style=\"color:#b00\">Wrong password: it is \"demo\".</p>" : "";
    r.headersOut["Content-Type"] = "text/html; charset=utf-8";
    r.return(200, page("Log in", "<h1>njs-session demo</h1>" + error +
        "<form method=\"post\" action=\"/login\">" +
        "<input type=\"hidden\" name=\"return_to\" value=\"" + escapeHtml(returnTo) + "\">" +
        "<p><label>Name <input id=\"username\" name=\"username\" required></label></p>" +
        "<p><label>Password <input id=\"password\" name=\"password\" type=\"password\" required></label></p>" +
        "<p><label><input id=\"remember\" name=\"remember\" type=\"checkbox\" value=\"1\"> Remember me</label></p>" +
        "<p><button id=\"login\" type=\"submit\">Log in</button></p></form>" +
        "<p class=\"note\">Any name, password <code>demo</code>. The session lives in an encrypted cookie " +
        "made by nginx; this app only sees the headers nginx adds.</p>"));
}

function checkLogin(r) {
    var form = qs.parse(r.requestText ? String(r.requestText) : "");
    var username = typeof form.username === "string" ? form.username.trim() : "";
    var returnTo = localPath(form.return_to);
    if (!username || form.password !== DEMO_PASSWORD) {
        return r.return(303, "/login?error=1&return_to=" + encodeURIComponent(returnTo));
    }
    var remember = form.remember === "1";
    r.headersOut["X-Session-Login"] = JSON.stringify({
        subject: username,
        data: { name: username, remember: remember ? "yes" : "no", logged_in_at: new Date().toISOString() },
        remember: remember,
        redirect: returnTo,
    });
    r.return(200, "ok\n");
}

// The session's CSRF token as a hidden form field: nginx refuses a POST without it.
function csrfField(r) {
    return "<input type=\"hidden\" name=\"csrf_token\" value=\"" + escapeHtml(r.headersIn["Session-Csrf-Token"]) + "\">";
}

function app(r) {
    var h = r.headersIn;
    var rows = [
        ["Session-Subject", h["Session-Subject"]],
        ["Session-Id", h["Session-Id"]],
        ["Session-Timeout", h["Session-Timeout"]],
        ["X-Session-Audience", h["X-Session-Audience"]],
        ["X-Session-Data", h["X-Session-Data"]],
        ["Cookie (as the app receives it)", h["Cookie"] === undefined ? "(none: session cookies removed)" : h["Cookie"]],
    ];
    var table = "<table>" + rows.map(function (row) {
        return "<tr><th>" + escapeHtml(row[0]) + "</th><td class=\"value\">" + escapeHtml(row[1]) + "</td></tr>";
    }).join("") + "</table>";
    r.headersOut["Content-Type"] = "text/html; charset=utf-8";
    r.return(200, page("Protected", "<h1>Hello, <span id=\"subject\">" + escapeHtml(h["Session-Subject"]) + "</span></h1>" +
        "<p>This page is served by the demo upstream. nginx checked the session and sent these headers:</p>" +
        table +
        "<p>Seconds left before the session times out: <span id=\"timeout\">" + escapeHtml(h["Session-Timeout"]) + "</span>. " +
        "Reload to see the idling timeout move; idle too long and nginx sends you back to the login page.</p>" +
        "<h2>A state-changing form</h2>" +
        "<form method=\"post\" action=\"/app/note\">" + csrfField(r) +
        "<p><label>Note <input id=\"note\" name=\"note\" required></label> " +
        "<button id=\"save\" type=\"submit\">Save</button></p></form>" +
        "<p class=\"note\">Both forms carry the session's CSRF token in a hidden field; nginx refuses a POST " +
        "without it (403), and one another site makes (its Origin is not this host).</p>" +
        "<form method=\"post\" action=\"/logout\">" + csrfField(r) +
        "<button id=\"logout\" type=\"submit\">Log out</button></form>"));
}

// POST /app/note: reached only through nginx's CSRF check; the app only echoes the note.
function note(r) {
    var form = qs.parse(r.requestText ? String(r.requestText) : "");
    var text = typeof form.note === "string" ? form.note : "";
    r.headersOut["Content-Type"] = "text/html; charset=utf-8";
    r.return(200, page("Saved", "<h1>Saved</h1><p>Note: <span id=\"saved\">" + escapeHtml(text) + "</span></p>" +
        "<p><a id=\"back\" href=\"/app/\">Back</a></p>"));
}

export default { loginForm: loginForm, checkLogin: checkLogin, app: app, note: note };
