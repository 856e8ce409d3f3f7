// docs/api.md's "Using it from your own njs handlers" example, verbatim in behaviour: a user module that
// imports dist/session-api.js (found through js_path) and uses its default export. t/040-user-module.t
// runs it under both engines.
import session from "session-api.js";

session.init({ secret: process.env.SESSION_SECRET, audience: "my-app" });

async function login(r) {
    const s = session.new(r);
    s.setSubject("john@example.com");
    s.setData({ name: "John", roles: ["admin"] });
    const saved = await s.save();
    r.return(saved.ok ? 204 : 500);
}

async function me(r) {
    const started = await session.start(r);
    if (!started.exists) return r.return(401);
    r.return(200, JSON.stringify({ subject: started.session.getSubject(), data: started.session.getData() }));
}

async function logout(r) {
    const result = await session.logout(r);
    r.return(result.ok ? 204 : 401);
}

export default { login, me, logout };
