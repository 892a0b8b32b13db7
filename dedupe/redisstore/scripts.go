package redisstore

import "github.com/redis/go-redis/v9"

var (
	claimScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false`)

	releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

	// arriveScript implements dedupe.Arrival's rules on one hash per
	// window-aligned interval of an occurrence key: KEYS[1..3] are the
	// intervals before, of and after the arrival's (one hash tag, so one
	// cluster slot). A hash holds "e" (its epoch, ARGV[7] at creation),
	// "n" (the last slot handed out), "o" (arrivals recorded), "c<len>:<side>"
	// (arrivals of a side) and per arrival "m<len>:<side><member>" =
	// "<at> <order> <slot> <paired 0|1> <slot's epoch>". ARGV: side, member,
	// at and window (Unix ms), limit, the TTL of KEYS[2] in ms, the epoch.
	// The reply is {slot, epoch, paired}; epoch "" when over the limit.
	arriveScript = redis.NewScript(`
local side, member = ARGV[1], ARGV[2]
local at, w, limit = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local retry, best
local function better(x, y)
  if not y then return true end
  local dx, dy = math.abs(at - x.at), math.abs(at - y.at)
  return dx < dy or (dx == dy and (x.at < y.at or (x.at == y.at and x.ord < y.ord)))
end
for i = 1, 3 do
  local all = redis.call('HGETALL', KEYS[i])
  for j = 1, #all, 2 do
    local n, rest = string.match(all[j], '^m(%d+):(.*)$')
    if n then
      n = tonumber(n)
      local sat, ord, slot, p, ep = string.match(all[j + 1], '^(%-?%d+) (%d+) (%d+) (%d) (.*)$')
      local x = {key = KEYS[i], field = all[j], sat = sat, at = tonumber(sat), ord = tonumber(ord), slot = slot, p = p, ep = ep}
      if math.abs(at - x.at) <= w then
        if string.sub(rest, 1, n) == side then
          if string.sub(rest, n + 1) == member and better(x, retry) then retry = x end
        elseif p == '0' and better(x, best) then
          best = x
        end
      end
    end
  end
end
if retry then return {tonumber(retry.slot), retry.ep, tonumber(retry.p)} end
local cf = 'c' .. #side .. ':' .. side
if tonumber(redis.call('HGET', KEYS[2], cf) or '0') >= limit then return {0, '', 0} end
if redis.call('EXISTS', KEYS[2]) == 0 then redis.call('HSET', KEYS[2], 'e', ARGV[7]) end
local ord = redis.call('HINCRBY', KEYS[2], 'o', 1)
redis.call('HINCRBY', KEYS[2], cf, 1)
local slot, ep, p
if best then
  redis.call('HSET', best.key, best.field, best.sat .. ' ' .. best.ord .. ' ' .. best.slot .. ' 1 ' .. best.ep)
  slot, ep, p = best.slot, best.ep, 1
else
  slot, ep, p = redis.call('HINCRBY', KEYS[2], 'n', 1), redis.call('HGET', KEYS[2], 'e'), 0
end
redis.call('HSET', KEYS[2], 'm' .. #side .. ':' .. side .. member, ARGV[3] .. ' ' .. ord .. ' ' .. slot .. ' ' .. p .. ' ' .. ep)
local ttl = tonumber(ARGV[6])
if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
return {tonumber(slot), ep, p}`)
)
