-- The one wrk script of `npm run bench`, steered by environment variables:
--   BENCH_OUT      file the summary is written to, as one JSON object (always)
--   BENCH_COOKIES  file of Cookie header values, one per line: one line = the same cookie on every
--                  request (warm); many = each request takes the next one, round robin (cold)
--   BENCH_COOKIE_CURSOR  (with many cookies) a file holding where the round robin goes on: read at
--                  start, written at the end, so that the next run of the same scenario (its next
--                  round) sends cookies the instance has not seen lately instead of the same first
--                  ones again, which its verified-session cache would still hold: a cold scenario
--                  would be measured partly warm, more so the faster the previous round ran
--   BENCH_METHOD, BENCH_BODY   e.g. POST and a form body (login)
--   BENCH_LIMIT    stop after this many responses (RSS measurements, pool collection): the thread
--                  stops and touches BENCH_OUT.done; wrk's main thread sleeps out -d regardless,
--                  so the caller sends it SIGINT on seeing that file (drive-lib.sh: limited_wrk)
--   BENCH_COLLECT  append each response's Set-Cookie name=value to this file (minting a pool)
--   BENCH_EXPECT_STATUS  (check runs, not measured) the status every response must have; with
--                  BENCH_EXPECT_COOKIE "yes" or "no" (whether it sets a cookie), the script writes
--                  BENCH_OUT.check: "<responses> <wrong> <first wrong status> <first wrong cookie>"
-- Run with -t1: the counters below are per thread.

local cookies = {}
local path = os.getenv("BENCH_COOKIES")
if path and path ~= "" then
  for line in io.lines(path) do
    if line ~= "" then cookies[#cookies + 1] = line end
  end
end

wrk.method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
if body and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end
wrk.headers["User-Agent"] = "njs-session-bench"

if #cookies == 1 then
  -- A static request: wrk builds it once, so the client costs nothing per request.
  wrk.headers["Cookie"] = cookies[1]
elseif #cookies > 1 then
  -- A global, so that done() can read where this thread stopped (thread:get).
  next_cookie = 0
  local cursor_path = os.getenv("BENCH_COOKIE_CURSOR")
  local cursor = cursor_path and cursor_path ~= "" and io.open(cursor_path, "r")
  if cursor then
    next_cookie = (tonumber(cursor:read("*l") or "") or 0) % #cookies
    cursor:close()
  end
  request = function()
    next_cookie = next_cookie % #cookies + 1
    wrk.headers["Cookie"] = cookies[next_cookie]
    return wrk.format()
  end
end

local limit = tonumber(os.getenv("BENCH_LIMIT") or "")
local collect_path = os.getenv("BENCH_COLLECT")
local expect_status = tonumber(os.getenv("BENCH_EXPECT_STATUS") or "")
local expect_cookie = os.getenv("BENCH_EXPECT_COOKIE")
-- Globals of the thread's Lua state, read by done() through thread:get.
checked, wrong, first_wrong = 0, 0, "- -"
local threads = {}
function setup(thread) threads[#threads + 1] = thread end

-- A response() callback makes wrk parse every response's headers: only runs that need one get it.
if limit or (collect_path and collect_path ~= "") or expect_status then
  local seen = 0
  local collected = nil
  if collect_path and collect_path ~= "" then collected = io.open(collect_path, "a") end
  response = function(status, headers, body)
    seen = seen + 1
    local cookie = headers["Set-Cookie"]
    if collected and cookie then collected:write((cookie:match("^([^;]*)")), "\n") end
    if expect_status then
      local has_cookie = cookie and "yes" or "no"
      checked = checked + 1
      if status ~= expect_status or (expect_cookie and expect_cookie ~= "" and has_cookie ~= expect_cookie) then
        if wrong == 0 then first_wrong = status .. " " .. has_cookie end
        wrong = wrong + 1
      end
    end
    if limit and seen >= limit then
      if collected then collected:close(); collected = nil end
      local marker = io.open(os.getenv("BENCH_OUT") .. ".done", "w")
      if marker then marker:close() end
      wrk.thread:stop()
    end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local out = assert(io.open(os.getenv("BENCH_OUT"), "w"))
  out:write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d}}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
  out:close()
  local cursor_path = os.getenv("BENCH_COOKIE_CURSOR")
  if cursor_path and cursor_path ~= "" and threads[1] then
    local cursor = assert(io.open(cursor_path, "w"))
    cursor:write(string.format("%d\n", threads[1]:get("next_cookie") or 0))
    cursor:close()
  end
  if expect_status then
    local check = assert(io.open(os.getenv("BENCH_OUT") .. ".check", "w"))
    local thread = threads[1]
    check:write(string.format("%d %d %s\n", thread:get("checked"), thread:get("wrong"), thread:get("first_wrong")))
    check:close()
  end
end
