// docs/storage.md's "Your own storage" example: a user module passing a storage object to init(), here over
// a js_shared_dict_zone. t/040-user-module.t runs it under both engines.
import session from "session-api.js";

const kv = () => ngx.shared.my_zone;
session.init({
  secret: process.env.SESSION_SECRET,
  storage: {
    set(name, key, value, ttl, now, oldKey, staleTtl, metadata, remember) { kv().set(name + ":" + key, value, ttl * 1000); },
    get(name, key, now) { return kv().get(name + ":" + key); },
    delete(name, key, now, metadata) { kv().delete(name + ":" + key); },
  },
});

async function login(r) {
    const s = session.new(r);
    s.setSubject("john@example.com");
    const saved = await s.save();
    r.return(saved.ok ? 204 : 500);
}

async function me(r) {
    const started = await session.start(r);
    if (!started.exists) return r.return(401);
    r.return(200, started.session.getSubject());
}

async function logout(r) {
    const result = await session.logout(r);
    r.return(result.ok ? 204 : 401);
}

function keys(r) {
    r.return(200, JSON.stringify(kv().keys().sort()));
}

export default { login, me, logout, keys };
