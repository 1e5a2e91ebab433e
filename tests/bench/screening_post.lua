-- wrk script for bench_screening.py: POST /v1/screenings with a distinct
-- body per request (subject and external_id unique per thread and request;
-- every fifth result is at risk and opens an alert). BENCH_ORG and
-- BENCH_TOKEN come from the environment; BENCH_RUN keeps runs apart.
local org = os.getenv("BENCH_ORG")
local token = os.getenv("BENCH_TOKEN")
local run = os.getenv("BENCH_RUN") or "0"
-- One result in BENCH_RISKY_EVERY is at risk (0: none).
local every = tonumber(os.getenv("BENCH_RISKY_EVERY") or "5")
local threads = {}
local counter = 0

function setup(thread)
   table.insert(threads, thread)
   thread:set("tid", #threads)
end

function init(args)
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
   wrk.headers["Authorization"] = "Bearer " .. token
end

local plain = "[1,0,1,0,1,0,0,1,0]"
local risky = "[2,2,2,2,2,0,0,0,0]"

function request()
   counter = counter + 1
   local key = string.format("%s-%d-%d", run, tid, counter)
   local body = string.format(
      '{"org_id":"%s","external_id":"e-%s","instrument":"phq9","subject":"s-%s",' ..
      '"unit":"U%d","taken_at":"2025-03-01T08:00:00Z","language":"de","answers":%s}',
      org, key, key, counter % 20, (every > 0 and counter % every == 0) and risky or plain)
   return wrk.format(nil, "/v1/screenings", nil, body)
end
