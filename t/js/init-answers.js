// A user module for t/135-known-answers.t: init() with the idling timeout the query names, then
// session.js's own check in auth_request mode, answered here (204 and X-Session-State, or 401). An
// answer kept before init() was made with the settings init() replaces: the check must not publish it
// (QuickJS keeps its answers in the context: known-answers.ts). js_content, so that it runs alike on
// every njs the tests cover and in every mode.
import session from "session-api.js";

// ?idle=SECONDS.
function check(r) {
    session.init({ idling_timeout: Number(r.args.idle) });
    return session.authRequest(r);
}

export default { check: check };
