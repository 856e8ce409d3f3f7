// The least a stream js_filter between ngx.fetch and Redis must do (bench/run.ts, the store floor):
// drop each request's HTTP head, and put one on each reply. Not a bridge: it takes every request and
// every reply to arrive in one packet, and knows no errors or pipelining (src/bridge/ does all that).
// What it costs is the floor of any transport built from stock nginx modules and njs.
function filter(s) {
  s.on("upstream", function (data, flags) {
    var end = data.indexOf("\r\n\r\n");
    s.send(end < 0 ? data : data.subarray(end + 4), flags);
  });
  s.on("downstream", function (data, flags) {
    // One send: a string sent before the packet went out after it.
    s.send(Buffer.concat([Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: " + data.length + "\r\n\r\n"), data]), flags);
  });
}

export default { filter };
