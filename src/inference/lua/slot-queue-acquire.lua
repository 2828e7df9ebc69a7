--[[
  KEYS[1] waiting (zset ticket → arrival), KEYS[2] tickets (hash ticket → "tenant|weight|expiresAt"),
  KEYS[3] virtual time (hash tenant → vt), KEYS[4] arrival counter, KEYS[5..] holders of each candidate
  endpoint in preference order (zset ticket → lease expiry).
  ARGV[1] now (ms), ARGV[2] ticket, ARGV[3] tenant, ARGV[4] weight, ARGV[5] ticket TTL (ms),
  ARGV[6] lease (ms), ARGV[7] slots per endpoint.
  Returns {1, i}: granted a slot on the i-th candidate; {0, position, waiting}: still in line (position 1 = next).
]]
local now = tonumber(ARGV[1])
local ticket, tenant, weight = ARGV[2], ARGV[3], tonumber(ARGV[4])
local ttl, lease, slots = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local free = 0
for i = 5, #KEYS do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  free = free + math.max(0, slots - redis.call('ZCARD', KEYS[i]))
end
if not redis.call('ZSCORE', KEYS[1], ticket) then
  redis.call('ZADD', KEYS[1], redis.call('INCR', KEYS[4]), ticket)
end
redis.call('HSET', KEYS[2], ticket, tenant .. '|' .. ARGV[4] .. '|' .. (now + ttl))
local all = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local live = {}
local minVt = nil
for i = 1, #all, 2 do
  local t = all[i]
  local data = redis.call('HGET', KEYS[2], t)
  local tn, w, exp
  if data then tn, w, exp = string.match(data, '^(.*)|([^|]*)|([^|]*)$') end
  if not tn or tonumber(exp) < now then
    redis.call('ZREM', KEYS[1], t)
    redis.call('HDEL', KEYS[2], t)
  else
    local vt = redis.call('HGET', KEYS[3], tn)
    if vt then
      vt = tonumber(vt)
      if minVt == nil or vt < minVt then minVt = vt end
    end
    live[#live + 1] = { t = t, tenant = tn, weight = tonumber(w), arrival = tonumber(all[i + 1]) }
  end
end
minVt = minVt or 0
local counts, mine = {}, nil
local base = {}
for _, e in ipairs(live) do
  if base[e.tenant] == nil then
    local vt = tonumber(redis.call('HGET', KEYS[3], e.tenant) or '-1')
    if vt < minVt then vt = minVt; redis.call('HSET', KEYS[3], e.tenant, tostring(vt)) end
    base[e.tenant] = vt
  end
  local k = counts[e.tenant] or 0
  counts[e.tenant] = k + 1
  e.key = base[e.tenant] + k / e.weight
  if e.t == ticket then mine = e end
end
local rank = 0
for _, e in ipairs(live) do
  if e.key < mine.key or (e.key == mine.key and e.arrival < mine.arrival) then rank = rank + 1 end
end
if rank < free then
  for i = 5, #KEYS do
    if redis.call('ZCARD', KEYS[i]) < slots then
      redis.call('ZADD', KEYS[i], now + lease, ticket)
      redis.call('ZREM', KEYS[1], ticket)
      redis.call('HDEL', KEYS[2], ticket)
      redis.call('HINCRBYFLOAT', KEYS[3], tenant, 1 / weight)
      redis.call('PEXPIRE', KEYS[3], 86400000)
      return { 1, i - 4 }
    end
  end
end
return { 0, rank + 1, #live }
