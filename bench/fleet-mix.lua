-- wrk script of the fleet run (bench/fleet-load.ts): GET on the I/O endpoint mixed with POST /items
-- writes, with the counters and the JSON report of bench/wrk-report.lua (loaded from WRK_REPORT_SCRIPT).
dofile(os.getenv("WRK_REPORT_SCRIPT"))

local io_path = os.getenv("FLEET_IO_PATH") or "/io?seconds=1"
-- Every n-th request of a connection is a write on the primary.
local post_every = tonumber(os.getenv("FLEET_POST_EVERY") or "10")
local sent = 0
local post_headers = { ["Content-Type"] = "application/json" }
local post_body = '{"body":"fleet run"}'

function request()
  sent = sent + 1
  if post_every > 0 and sent % post_every == 0 then
    return wrk.format("POST", "/items", post_headers, post_body)
  end
  return wrk.format("GET", io_path)
end
