// docs/api.md's "A clock and a random source of your own": the options `now` and `random` passed to one
// call. The time comes from the query (?at=unix seconds); t/040-user-module.t runs it under both engines.
import session from "session-api.js";

session.init({ secret: process.env.SESSION_SECRET });

function at(r) {
    const time = Number(r.args.at);
    return function () {
        return time;
    };
}

async function login(r) {
    const s = session.new(r, { now: at(r) });
    s.setSubject("john@example.com");
    const saved = await s.save();
    r.return(saved.ok ? 204 : 500);
}

async function me(r) {
    const opened = await session.open(r, { now: at(r) });
    r.return(opened.exists ? 200 : 401, opened.exists ? opened.session.getSubject() : opened.error);
}

async function sevens(r) {
    const s = session.new(r, {
        random: function (size) {
            return new Uint8Array(size).fill(7);
        },
    });
    const saved = await s.save();
    r.return(saved.ok ? 204 : 500);
}

async function badClock(r) {
    try {
        await session.open(r, { now: function () { return "soon"; } });
        r.return(200, "accepted");
    } catch (e) {
        r.return(500, e.message);
    }
}

export default { login, me, sevens, badClock };
