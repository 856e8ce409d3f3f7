// An empty js_access handler: what the bench's "module tax" scenarios run, in an http{} that imports
// session.js and in one that does not (bench/run.ts).
function access(r) {}
export default { access };
