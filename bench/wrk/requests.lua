-- wrk script for `make bench` (bench/run.py drives it; run with one wrk thread, -t1).
--
-- Environment:
--   BENCH_REQUESTS_FILE  one request per line: METHOD<TAB>PATH[<TAB>BODY[<TAB>HEADERS]]   (required);
--                        HEADERS: "Name: value" pairs separated by "|" (e.g. one session cookie per line)
--   BENCH_HEADERS_FILE   optional, one "Name: value" per line, sent with every request
--   BENCH_MODE           "random" (default: pick a line at random each time) or "once" (each line once,
--                        in order; the run stops when every line has been answered)
--   BENCH_MAX            stop after this many responses (fixed request count; wrk -d is the time limit)
--   BENCH_OUT            where done() writes the JSON summary
--   BENCH_CAPTURE        optional file: the Location header of every redirect is appended to it
--
-- Throughput is measured here (first request sent → last response received, with gettimeofday through
-- LuaJIT's FFI) because wrk's own duration is always the full -d even when the thread stops early.

local ffi = require("ffi")
ffi.cdef [[
typedef struct bench_timeval { long tv_sec; long tv_usec; } bench_timeval;
int gettimeofday(bench_timeval *tv, void *tz);
]]
local tv = ffi.new("bench_timeval")
local function now()
  ffi.C.gettimeofday(tv, nil)
  return tonumber(tv.tv_sec) + tonumber(tv.tv_usec) / 1e6
end

local function read_lines(path)
  local lines = {}
  if not path or path == "" then return lines end
  local f = assert(io.open(path, "r"))
  for line in f:lines() do
    if line ~= "" then lines[#lines + 1] = line end
  end
  f:close()
  return lines
end

local function split_tabs(line)
  local parts = {}
  for part in (line .. "\t"):gmatch("(.-)\t") do parts[#parts + 1] = part end
  return parts
end

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

local prepared = {}
local capture = nil
local mode = os.getenv("BENCH_MODE") or "random"
local max_responses = tonumber(os.getenv("BENCH_MAX") or "0") or 0
local next_index = 1
local started_at = 0
local last_at = 0
s1, s2, s3, s4, s5, responses_count = 0, 0, 0, 0, 0, 0
t_first, t_last = 0, 0

function init(args)
  local headers = {}
  for _, line in ipairs(read_lines(os.getenv("BENCH_HEADERS_FILE"))) do
    local name, value = line:match("^([^:]+):%s*(.*)$")
    if name then headers[name] = value end
  end
  for _, line in ipairs(read_lines(os.getenv("BENCH_REQUESTS_FILE"))) do
    local parts = split_tabs(line)
    local method, path, body, extra = parts[1], parts[2], parts[3], parts[4]
    if body == "" then body = nil end
    local h = {}
    for k, v in pairs(headers) do h[k] = v end
    if extra and extra ~= "" then
      for pair in (extra .. "|"):gmatch("(.-)|") do
        local name, value = pair:match("^([^:]+):%s*(.*)$")
        if name then h[name] = value end
      end
    end
    if body then h["Content-Type"] = h["Content-Type"] or "application/x-www-form-urlencoded" end
    prepared[#prepared + 1] = wrk.format(method, path, h, body)
  end
  assert(#prepared > 0, "BENCH_REQUESTS_FILE is empty")
  if mode == "once" and (max_responses == 0 or max_responses > #prepared) then
    max_responses = #prepared
  end
  math.randomseed(os.time())
  local capture_path = os.getenv("BENCH_CAPTURE")
  if capture_path and capture_path ~= "" then capture = assert(io.open(capture_path, "a")) end
end

function request()
  if started_at == 0 then
    started_at = now()
    t_first = started_at
  end
  if mode == "once" then
    local i = next_index
    if i > #prepared then i = #prepared end -- overshoot (at most connections-1 requests): repeat the last
    next_index = next_index + 1
    return prepared[i]
  end
  return prepared[math.random(#prepared)]
end

function response(status, headers, body)
  responses_count = responses_count + 1
  local class = math.floor(status / 100)
  if class == 2 then s2 = s2 + 1
  elseif class == 3 then s3 = s3 + 1
  elseif class == 4 then s4 = s4 + 1
  elseif class == 5 then s5 = s5 + 1
  else s1 = s1 + 1 end
  t_last = now()
  if capture and headers["Location"] then capture:write(headers["Location"], "\n") end
  if max_responses > 0 and responses_count >= max_responses then
    wrk.thread:stop()
  end
end

local function json_number(x)
  if x == nil or x ~= x then return "null" end
  return string.format("%.6f", x)
end

function done(summary, latency, requests)
  local out = os.getenv("BENCH_OUT")
  local parts = {}
  for _, t in ipairs(threads) do
    parts[#parts + 1] = string.format(
      '{"responses": %d, "s1": %d, "s2": %d, "s3": %d, "s4": %d, "s5": %d, "t_first": %s, "t_last": %s}',
      t:get("responses_count") or 0, t:get("s1") or 0, t:get("s2") or 0, t:get("s3") or 0,
      t:get("s4") or 0, t:get("s5") or 0, json_number(t:get("t_first")), json_number(t:get("t_last")))
  end
  local e = summary.errors
  local text = string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"p50": %s, "p90": %s, "p95": %s, "p99": %s, "mean": %s, "max": %s, "stdev": %s}, ' ..
    '"threads": [%s]}',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    json_number(latency:percentile(50)), json_number(latency:percentile(90)),
    json_number(latency:percentile(95)), json_number(latency:percentile(99)),
    json_number(latency.mean), json_number(latency.max), json_number(latency.stdev),
    table.concat(parts, ", "))
  if out and out ~= "" then
    local f = assert(io.open(out, "w"))
    f:write(text)
    f:close()
  else
    io.write(text .. "\n")
  end
end
