package redisstore

import "github.com/redis/go-redis/v9"

// programScript runs a batch of ops (a program) in one call: the store's
// only script. A single Release or Arrive, and a single Claim on a server
// without SET NX GET, are programs of one op; a batch that can run whole
// (see Store.Do) is one program.
//
// KEYS are the ops' keys in order: one claim key for a claim, commit or
// release, the three interval keys (before, of and after the arrival's)
// for an arrival. ARGV[1] is the store's prefix .. "c:", the stem of the
// slot keys; then each op's arguments in order, after its code:
//
//	"c" ttl       claim (a gate: "g" ttl)
//	"m" ttl       commit
//	"r"           release
//	"a" side member at window limit ttl epoch slotprefix slotttl
//	              arrive; at and window in Unix ms, ttl that of the
//	              arrival's interval, epoch a fresh one for a new interval;
//	              slotprefix "" for no slot claim
//
// TTLs are in ms. A claim is GET, then SET P PX ttl when absent; a commit
// SET D PX ttl; a release DEL while "P" (valPending, valDone). An arrival
// follows dedupe.Arrival's rules on one hash per window-aligned interval
// (the package documentation, Key layout): a hash holds "e" (its epoch),
// "n" (the last slot handed out), "o" (arrivals recorded), "c<len>:<side>"
// (arrivals of a side) and per arrival "m<len>:<side><member>" = "<at>
// <order> <slot> <paired 0|1> <slot's epoch>". An arrival with a slot
// prefix then claims ARGV[1] .. slotprefix .. epoch .. "#" .. slot (the
// key dedupe.Op.SlotPrefix names); that key is not in KEYS, and on a
// cluster it is in their slot because the store runs a program whole only
// when every key's hash tag, the slot keys' included, is the same.
//
// The reply is flat: a claim adds its state (1 Claimed, 2 Pending, 3 Done:
// dedupe.State's values), an arrival its slot, epoch ("" over the limit)
// and paired (0 or 1), and with a slot prefix its slot claim's state (0
// over the limit); commits and releases add nothing. A gate that is not
// Claimed ends the program: the reply stops after its state.
//
// Redis refuses a script's write for memory (OOM, maxmemory with
// noeviction) only when it is the script's first, so a program refused
// for memory has written nothing.
var programScript = redis.NewScript(`
local out, k, i = {}, 1, 2
local function claim(key, ttl)
  local v = redis.call('GET', key)
  if not v then
    redis.call('SET', key, 'P', 'PX', ttl)
    return 1
  end
  if v == 'D' then return 3 end
  return 2
end
local function arrive(k1, k2, k3, side, member, sat, w, limit, ttl, epoch)
  local keys, at = {k1, k2, k3}, tonumber(sat)
  local retry, best
  local function better(x, y)
    if not y then return true end
    local dx, dy = math.abs(at - x.at), math.abs(at - y.at)
    return dx < dy or (dx == dy and (x.at < y.at or (x.at == y.at and x.ord < y.ord)))
  end
  for j = 1, 3 do
    local all = redis.call('HGETALL', keys[j])
    for f = 1, #all, 2 do
      local n, rest = string.match(all[f], '^m(%d+):(.*)$')
      if n then
        n = tonumber(n)
        local xat, ord, slot, p, ep = string.match(all[f + 1], '^(%-?%d+) (%d+) (%d+) (%d) (.*)$')
        local x = {key = keys[j], field = all[f], sat = xat, at = tonumber(xat), ord = tonumber(ord), slot = slot, p = p, ep = ep}
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
  if retry then return tonumber(retry.slot), retry.ep, tonumber(retry.p) end
  local cf = 'c' .. #side .. ':' .. side
  if tonumber(redis.call('HGET', k2, cf) or '0') >= limit then return 0, '', 0 end
  if redis.call('EXISTS', k2) == 0 then redis.call('HSET', k2, 'e', epoch) end
  local ord = redis.call('HINCRBY', k2, 'o', 1)
  redis.call('HINCRBY', k2, cf, 1)
  local slot, ep, p
  if best then
    redis.call('HSET', best.key, best.field, best.sat .. ' ' .. best.ord .. ' ' .. best.slot .. ' 1 ' .. best.ep)
    slot, ep, p = best.slot, best.ep, 1
  else
    slot, ep, p = redis.call('HINCRBY', k2, 'n', 1), redis.call('HGET', k2, 'e'), 0
  end
  redis.call('HSET', k2, 'm' .. #side .. ':' .. side .. member, sat .. ' ' .. ord .. ' ' .. slot .. ' ' .. p .. ' ' .. ep)
  if redis.call('PTTL', k2) < ttl then redis.call('PEXPIRE', k2, ttl) end
  return tonumber(slot), ep, p
end
while i <= #ARGV do
  local code = ARGV[i]
  if code == 'c' or code == 'g' then
    local st = claim(KEYS[k], ARGV[i + 1])
    out[#out + 1] = st
    k, i = k + 1, i + 2
    if code == 'g' and st ~= 1 then break end
  elseif code == 'm' then
    redis.call('SET', KEYS[k], 'D', 'PX', ARGV[i + 1])
    k, i = k + 1, i + 2
  elseif code == 'r' then
    if redis.call('GET', KEYS[k]) == 'P' then redis.call('DEL', KEYS[k]) end
    k, i = k + 1, i + 1
  elseif code == 'a' then
    local slot, ep, p = arrive(KEYS[k], KEYS[k + 1], KEYS[k + 2], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3],
      tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5]), tonumber(ARGV[i + 6]), ARGV[i + 7])
    local n = #out
    out[n + 1], out[n + 2], out[n + 3] = slot, ep, p
    if ARGV[i + 8] ~= '' then
      local st = 0
      if ep ~= '' then st = claim(ARGV[1] .. ARGV[i + 8] .. ep .. '#' .. slot, ARGV[i + 9]) end
      out[n + 4] = st
    end
    k, i = k + 3, i + 10
  else
    return redis.error_reply('unknown op code ' .. tostring(code))
  end
end
return out`)
