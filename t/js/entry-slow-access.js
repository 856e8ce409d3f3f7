// For t/080-isolation.t: js_access through session.access with delays before and after it
// (?pre=ms&post=ms), so that the access checks of many requests are pending at once and finish in
// another order than they started. It imports dist/session.js like a user module does.
import session from "session.js";

function delay(ms) {
    return new Promise(function (resolve) {
        setTimeout(resolve, ms);
    });
}

async function access(r) {
    await delay(Number(r.args.pre || 0));
    await session.access(r);
    await delay(Number(r.args.post || 0));
}

export default { access: access };
