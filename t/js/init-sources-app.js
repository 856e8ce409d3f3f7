// docs/api.md's "A clock and a random source of your own": inside nginx, init() refuses `now` and
// `random` (the entry points run on nginx's own clock and random source); one call takes them.
// t/040-user-module.t runs it under both engines.
import session from "session-api.js";

function initWith(extra) {
    const options = { secret: process.env.SESSION_SECRET };
    Object.assign(options, extra);
    try {
        session.init(options);
        return "accepted";
    } catch (e) {
        return e.message;
    }
}

function clock(r) {
    r.return(200, initWith({ now: function () { return 1760000000; } }));
}

function random(r) {
    r.return(200, initWith({ random: function (size) { return new Uint8Array(size); } }));
}

function plain(r) {
    r.return(200, initWith({}));
}

export default { clock, random, plain };
