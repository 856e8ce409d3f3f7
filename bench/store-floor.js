// The store path's floor (bench/run.ts, "store-floor" instances): one Redis GET through ngx.fetch,
// with no session check around it. The location names where the GET goes ($bench_floor_url) and
// js_fetch_proxy the way there (the store bridge, or the least filter of store-floor-filter.js).
// What it reads is a record the size of a bench session's (drive-lib.sh store_record).
var GET = "*2\r\n$3\r\nGET\r\n$19\r\nsession:bench-floor\r\n";
// The bulk reply of a 43-byte record: "$43\r\n" + 43 bytes + "\r\n".
var REPLY_SIZE = 50;

async function roundTrip(r) {
  var reply = await ngx.fetch(r.variables.bench_floor_url, { method: "POST", body: GET });
  var body = await reply.arrayBuffer();
  // Anything but the record is a failed run, not a fast one: the bench counts non-200 answers.
  if (reply.status !== 200 || body.byteLength !== REPLY_SIZE) r.return(502);
}

export default { roundTrip };
