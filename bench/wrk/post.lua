-- wrk script for scripts/bench-http.sh: POSTs pre-signed deliveries written
-- by bench/cmd/sign, one unique delivery per request. Thread i reads
-- DIR/deliveries.i line by line; when a file runs out it starts over (its
-- deliveries are then duplicates to a receiver) and counts a wrap, which
-- done() reports.
--
--   wrk -s post.lua URL -- DIR

local threads = {}
local counter = 0

function setup(thread)
   thread:set("tid", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

function init(args)
   file = assert(io.open(args[1] .. "/deliveries." .. tid, "r"))
   wraps = 0
   hdrs = { ["Content-Type"] = "application/json" }
end

function request()
   local line = file:read("*l")
   if line == nil then
      wraps = wraps + 1
      file:seek("set", 0)
      line = file:read("*l")
   end
   local id, ts, sig, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
   hdrs["webhook-id"] = id
   hdrs["webhook-timestamp"] = ts
   hdrs["webhook-signature"] = sig
   return wrk.format("POST", nil, hdrs, body)
end

function done(summary, latency, requests)
   local w = 0
   for _, t in ipairs(threads) do
      w = w + (t:get("wraps") or 0)
   end
   io.write(string.format("delivery files wrapped: %d\n", w))
end
