-- wrk script of the bench (bench/load.ts): counts responses by status and writes one JSON report.
-- Threads keep their own counters (each has its own Lua state); done() gathers them and writes
-- the summary, the errors by kind and the latency quantiles to the file named by WRK_REPORT.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  -- Responses per wall-clock second, 2xx and other: the fault runs (bench/faults.ts) read recovery from them.
  -- Flat tables of numbers: thread:get() copies those reliably between Lua states.
  ok_by_second = {}
  bad_by_second = {}
end

function response(status, headers, body)
  local k = tostring(status)
  statuses[k] = (statuses[k] or 0) + 1
  local t = os.time()
  if status >= 200 and status < 300 then
    ok_by_second[t] = (ok_by_second[t] or 0) + 1
  else
    bad_by_second[t] = (bad_by_second[t] or 0) + 1
  end
end

local function json_string(s)
  return '"' .. tostring(s):gsub('[%c"\\]', function(c) return string.format('\\u%04x', c:byte()) end) .. '"'
end

function done(summary, latency, requests)
  local merged = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    if s then
      for k, v in pairs(s) do merged[k] = (merged[k] or 0) + v end
    end
  end
  local parts = {}
  for k, v in pairs(merged) do table.insert(parts, json_string(k) .. ":" .. v) end
  local tl = {}
  for _, t in ipairs(threads) do
    for i, name in ipairs({"ok_by_second", "bad_by_second"}) do
      local s = t:get(name)
      if s then
        for sec, n in pairs(s) do
          tl[sec] = tl[sec] or {0, 0}
          tl[sec][i] = tl[sec][i] + n
        end
      end
    end
  end
  local tparts = {}
  for sec, slot in pairs(tl) do table.insert(tparts, string.format('"%d":[%d,%d]', sec, slot[1], slot[2])) end
  -- Quantiles every 0.5 %, and the far tail, in microseconds: enough to merge several processes.
  local q = {}
  for i = 1, 199 do table.insert(q, string.format('["%.1f",%d]', i / 2, latency:percentile(i / 2))) end
  for _, p in ipairs({99.9, 99.99, 100}) do table.insert(q, string.format('["%s",%d]', tostring(p), latency:percentile(p))) end
  local e = summary.errors
  local out = string.format(
    '{"durationUs":%d,"requests":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d},' ..
    '"statuses":{%s},"timeline":{%s},"latencyUs":{"min":%d,"max":%d,"mean":%.1f,"stdev":%.1f,"quantiles":[%s]}}',
    summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write, e.timeout, e.status,
    table.concat(parts, ","), table.concat(tparts, ","), latency.min, latency.max, latency.mean, latency.stdev, table.concat(q, ","))
  local path = os.getenv("WRK_REPORT")
  if path then
    local f = assert(io.open(path, "w"))
    f:write(out, "\n")
    f:close()
  else
    io.write(out, "\n")
  end
end
