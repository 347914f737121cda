-- Request paths for `deno task bench http`, chosen at random per request.
-- wrk -s _random_keys.lua -- <group> <n>   GET /_cache/<group>/k<i>, i uniform in 0..n-1
-- wrk -s _random_keys.lua -- mix           GET /_cache/metrics/CNF-<i>: 80% of requests for 001..010,
--                                          20% for 011..100 (the mix of `deno task load`)
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("seed", threads)
end

function init(args)
  math.randomseed(os.time() * 1000 + seed)
  mode = args[1]
  n = tonumber(args[2] or "1")
  prefix = "/_cache/" .. mode .. "/k"
end

function request()
  if mode == "mix" then
    local i
    if math.random() < 0.8 then i = math.random(1, 10) else i = math.random(11, 100) end
    return wrk.format("GET", string.format("/_cache/metrics/CNF-%03d", i))
  end
  return wrk.format("GET", prefix .. math.random(0, n - 1))
end
