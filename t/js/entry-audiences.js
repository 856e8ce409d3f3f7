// A user module for t/070-login-logout.t: adds an audience to the request's session (or starts one),
// so that a cookie holds several audiences, which is where logout and destroy differ. It imports
// dist/session-api.js like docs/api.md's user modules do; that copy reads the same NJS_SESSION_CONFIG.
import session from "session-api.js";

// GET ?audience=NAME&subject=WHO: opens the session for NAME (absent: the session keeps its other
// audiences), sets the subject and saves. Answers "audiences: a,b".
async function join(r) {
    var opened = await session.open(r, { audience: r.args.audience });
    var s = opened.session;
    s.setSubject(r.args.subject);
    var saved = await s.save();
    if (!saved.ok) return r.return(500, 'save failed: ' + saved.error + '\n');
    r.return(200, 'audiences: ' + s.getAudiences().join(',') + '\n');
}

export default { join: join };
