--[[
  Claims due items for one sweeper: moves them `lease` ms into the future so
  no other replica takes them meanwhile (a sweeper that dies just lets the lease run out).
  KEYS[1] the sorted set · ARGV[1] now (ms) · ARGV[2] lease (ms) · ARGV[3] at most this many
  Returns the claimed ids.
]]
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), id) end
return ids
