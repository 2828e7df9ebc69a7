--[[
  Takes one token from every bucket, or none.
  KEYS[i]   one hash per bucket: t (tokens), a (last refill, ms), b (blocked until, ms)
  ARGV[1]   reserve: tokens that must remain in a bucket after this call (0 for urgent calls;
            capped at capacity - 1 so a one-token bucket still serves everyone)
  ARGV[2+2(i-1)], ARGV[3+2(i-1)]   capacity and refill per ms of KEYS[i]
  Returns {1, 0} when taken, {0, wait ms} when not (wait: until the slowest bucket has enough).
]]
local tm = redis.call('TIME')
local now = tonumber(tm[1]) * 1000 + math.floor(tonumber(tm[2]) / 1000)
local reserve = tonumber(ARGV[1])
local state = {}
local wait = 0
for i, key in ipairs(KEYS) do
  local cap = tonumber(ARGV[2 * i])
  local rate = tonumber(ARGV[2 * i + 1])
  local h = redis.call('HMGET', key, 't', 'a', 'b')
  local tokens = tonumber(h[1]) or cap
  local at = tonumber(h[2]) or now
  local blocked = tonumber(h[3]) or 0
  if now > at then tokens = math.min(cap, tokens + (now - at) * rate) end
  local need = 1 + math.min(reserve, cap - 1)
  if blocked > now then
    wait = math.max(wait, blocked - now)
  elseif tokens < need then
    wait = math.max(wait, math.ceil((need - tokens) / rate))
  end
  state[i] = { tokens, cap, rate, blocked }
end
if wait > 0 then return { 0, wait } end
for i, key in ipairs(KEYS) do
  local s = state[i]
  redis.call('HSET', key, 't', tostring(s[1] - 1), 'a', now, 'b', s[4])
  redis.call('PEXPIRE', key, math.ceil(s[2] / s[3]) + 1000)
end
return { 1, 0 }
